package sshkeys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// hostKeys are one public key of each type a server commonly has.
type hostKeys struct {
	ed25519, ecdsa, rsa, other ssh.PublicKey
}

func newHostKeys(t *testing.T) hostKeys {
	t.Helper()
	pub := func(raw crypto.PrivateKey) ssh.PublicKey {
		s, err := ssh.NewSignerFromKey(raw)
		if err != nil {
			t.Fatal(err)
		}
		return s.PublicKey()
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, other, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return hostKeys{ed25519: pub(ed), ecdsa: pub(ec), rsa: pub(rs), other: pub(other)}
}

// line is a known_hosts line for host ("h" or "[h]:port"), hashed like
// ssh-keyscan -H when hash is set.
func line(host string, hash bool, k ssh.PublicKey) string {
	if hash {
		host = knownhosts.HashHostname(host)
	}
	return knownhosts.Line([]string{host}, k) + "\n"
}

func writeFiles(t *testing.T, contents ...string) []string {
	t.Helper()
	dir := t.TempDir()
	var files []string
	for i, c := range contents {
		f := filepath.Join(dir, "known_hosts"+string(rune('1'+i)))
		if err := os.WriteFile(f, []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	return files
}

func TestLoadKnownHosts(t *testing.T) {
	k := newHostKeys(t)
	good := writeFiles(t, line("h", false, k.ed25519))[0]
	bad := writeFiles(t, "h ssh-ed25519 !!!\n")[0]
	missing := filepath.Join(t.TempDir(), "nope")
	tests := []struct {
		name      string
		files     []string
		wantFiles []string
		wantErr   string
	}{
		{"missing files are skipped", []string{missing, good}, []string{good}, ""},
		{"each file once", []string{good, missing, good}, []string{good}, ""},
		{"none exists", []string{missing}, nil, ""},
		{"no files", nil, nil, ""},
		{"bad line", []string{good, bad}, nil, "knownhosts: " + bad + ": no valid entries, line 1: illegal base64 data at input byte 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kh, err := LoadKnownHosts(tt.files)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error:\n got: %v\nwant: %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := kh.Files(); !reflect.DeepEqual(got, tt.wantFiles) {
				t.Errorf("Files() = %q, want %q", got, tt.wantFiles)
			}
		})
	}
}

func TestAlgorithms(t *testing.T) {
	k := newHostKeys(t)
	rsaAlgos := []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	tests := []struct {
		name     string
		files    []string // contents; a nil list reads no file at all
		hostport string
		want     []string
	}{
		{
			// The LAB.md pitfall: the server would offer ecdsa first.
			name:     "only ed25519",
			files:    []string{line("[127.0.0.1]:2222", false, k.ed25519)},
			hostport: "127.0.0.1:2222",
			want:     []string{ssh.KeyAlgoED25519},
		},
		{
			name:     "rsa asks for SHA-2 signatures first",
			files:    []string{line("[127.0.0.1]:2222", false, k.rsa)},
			hostport: "127.0.0.1:2222",
			want:     rsaAlgos,
		},
		{
			name:     "file order",
			files:    []string{line("h", false, k.ecdsa) + line("h", false, k.ed25519) + line("h", false, k.rsa)},
			hostport: "h:22",
			want:     append([]string{ssh.KeyAlgoECDSA256, ssh.KeyAlgoED25519}, rsaAlgos...),
		},
		{
			name:     "hashed entry",
			files:    []string{line("[198.51.100.11]:2200", true, k.ed25519)},
			hostport: "198.51.100.11:2200",
			want:     []string{ssh.KeyAlgoED25519},
		},
		{
			name:     "port 22 entry has no brackets",
			files:    []string{line("git.example.com", false, k.ed25519)},
			hostport: "git.example.com:22",
			want:     []string{ssh.KeyAlgoED25519},
		},
		{
			name:     "entry for another port",
			files:    []string{line("[h]:2222", false, k.ed25519)},
			hostport: "h:22",
			want:     nil,
		},
		{
			name:     "wildcard",
			files:    []string{line("*.lab.example", false, k.ed25519)},
			hostport: "node-1.lab.example:22",
			want:     []string{ssh.KeyAlgoED25519},
		},
		{
			name:     "bracketed IPv6",
			files:    []string{line("[2001:db8::1]:2200", false, k.ecdsa)},
			hostport: "[2001:db8::1]:2200",
			want:     []string{ssh.KeyAlgoECDSA256},
		},
		{
			name:     "several files, each type once",
			files:    []string{line("h", false, k.ed25519), line("h", true, k.ed25519) + line("h", false, k.rsa)},
			hostport: "h:22",
			want:     append([]string{ssh.KeyAlgoED25519}, rsaAlgos...),
		},
		{
			name:     "unknown host",
			files:    []string{line("other", false, k.ed25519)},
			hostport: "h:22",
			want:     nil,
		},
		{
			name:     "no file",
			files:    nil,
			hostport: "h:22",
			want:     nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kh, err := LoadKnownHosts(writeFiles(t, tt.files...))
			if err != nil {
				t.Fatal(err)
			}
			if got := kh.Algorithms(tt.hostport, nil); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Algorithms(%s) = %q, want %q", tt.hostport, got, tt.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	k := newHostKeys(t)
	fp := func(key ssh.PublicKey) string { return key.Type() + " " + ssh.FingerprintSHA256(key) }
	remote := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2222}
	tests := []struct {
		name     string
		files    []string
		hostport string
		key      ssh.PublicKey
		// The *KeyProblem, when one is wanted; Err is not compared.
		want    *KeyProblem
		wantErr string
	}{
		{
			name:     "known",
			files:    []string{"# keyscan\n" + line("[127.0.0.1]:2222", false, k.ed25519)},
			hostport: "127.0.0.1:2222",
			key:      k.ed25519,
		},
		{
			name:     "known by hashed entry",
			files:    []string{line("[127.0.0.1]:2222", true, k.ed25519)},
			hostport: "127.0.0.1:2222",
			key:      k.ed25519,
		},
		{
			name:     "known in the second file",
			files:    []string{line("other", false, k.other), line("h", false, k.ecdsa)},
			hostport: "h:22",
			key:      k.ecdsa,
		},
		{
			name:     "unknown",
			files:    []string{line("[127.0.0.1]:1", false, k.ed25519)},
			hostport: "127.0.0.1:2222",
			key:      k.ecdsa,
			want:     &KeyProblem{Kind: Unknown, Host: "[127.0.0.1]:2222", Fingerprint: fp(k.ecdsa)},
			wantErr:  "host key of [127.0.0.1]:2222 (" + fp(k.ecdsa) + ") is not in known_hosts",
		},
		{
			name:     "no file",
			hostport: "h:22",
			key:      k.ed25519,
			want:     &KeyProblem{Kind: Unknown, Host: "h", Fingerprint: fp(k.ed25519)},
			wantErr:  "host key of h (" + fp(k.ed25519) + ") is not in known_hosts",
		},
		{
			name:     "mismatch across files",
			files:    []string{"# old\n" + line("h", false, k.other), line("h", true, k.rsa)},
			hostport: "h:22",
			key:      k.ed25519,
			want: &KeyProblem{Kind: Mismatch, Host: "h", Fingerprint: fp(k.ed25519),
				Entries: []Entry{{"%1", 2, ssh.KeyAlgoED25519}, {"%2", 1, ssh.KeyAlgoRSA}}},
			wantErr: "host key of h (" + fp(k.ed25519) + ") does not match %1:2, %2:1",
		},
		{
			name:     "revoked",
			files:    []string{line("[127.0.0.1]:2222", false, k.ed25519), "@revoked * " + string(ssh.MarshalAuthorizedKey(k.ed25519))},
			hostport: "127.0.0.1:2222",
			key:      k.ed25519,
			want: &KeyProblem{Kind: Revoked, Host: "[127.0.0.1]:2222", Fingerprint: fp(k.ed25519),
				Entries: []Entry{{"%2", 1, ssh.KeyAlgoED25519}}},
			wantErr: "host key of [127.0.0.1]:2222 (" + fp(k.ed25519) + ") is revoked in %2:1",
		},
		{
			name:     "no port",
			files:    []string{line("h", false, k.ed25519)},
			hostport: "h",
			key:      k.ed25519,
			wantErr:  "knownhosts: SplitHostPort(h): address h: missing port in address",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := writeFiles(t, tt.files...)
			kh, err := LoadKnownHosts(files)
			if err != nil {
				t.Fatal(err)
			}
			// %1, %2 stand for the files, whose names the test learns late.
			name := func(s string) string {
				for i, f := range files {
					s = strings.ReplaceAll(s, "%"+string(rune('1'+i)), f)
				}
				return s
			}
			err = kh.Check(tt.hostport, remote, tt.key)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			if err == nil || err.Error() != name(tt.wantErr) {
				t.Fatalf("error:\n got: %v\nwant: %s", err, name(tt.wantErr))
			}
			var p *KeyProblem
			if !errors.As(err, &p) {
				if tt.want != nil {
					t.Fatalf("error %T, want *KeyProblem", err)
				}
				return
			}
			if tt.want == nil {
				t.Fatalf("got %+v, want an error that is no *KeyProblem", p)
			}
			want := *tt.want
			want.Entries = nil
			for _, e := range tt.want.Entries {
				e.File = name(e.File)
				want.Entries = append(want.Entries, e)
			}
			got := *p
			got.Err = nil
			if !reflect.DeepEqual(got, want) {
				t.Errorf("problem:\n got: %+v\nwant: %+v", got, want)
			}
			var ke *knownhosts.KeyError
			var re *knownhosts.RevokedError
			if !errors.As(err, &ke) && !errors.As(err, &re) {
				t.Errorf("%v does not wrap the knownhosts error", err)
			}
		})
	}
}

func TestCommands(t *testing.T) {
	tests := []struct {
		hostport   string
		hash       bool
		wantScan   string
		wantRemove string
	}{
		{"git.example.com:22", false, "ssh-keyscan git.example.com", "ssh-keygen -R git.example.com -f /kh"},
		{"127.0.0.1:2222", false, "ssh-keyscan -p 2222 127.0.0.1", "ssh-keygen -R '[127.0.0.1]:2222' -f /kh"},
		{"198.51.100.11:22", true, "ssh-keyscan -H 198.51.100.11", "ssh-keygen -R 198.51.100.11 -f /kh"},
		{"198.51.100.11:2200", true, "ssh-keyscan -H -p 2200 198.51.100.11", "ssh-keygen -R '[198.51.100.11]:2200' -f /kh"},
		{"[2001:db8::1]:2200", true, "ssh-keyscan -H -p 2200 2001:db8::1", "ssh-keygen -R '[2001:db8::1]:2200' -f /kh"},
	}
	for _, tt := range tests {
		t.Run(tt.hostport, func(t *testing.T) {
			if got := KeyscanCommand(tt.hostport, tt.hash); got != tt.wantScan {
				t.Errorf("KeyscanCommand = %q, want %q", got, tt.wantScan)
			}
			if got := RemoveCommand(tt.hostport, "/kh"); got != tt.wantRemove {
				t.Errorf("RemoveCommand = %q, want %q", got, tt.wantRemove)
			}
		})
	}
}
