// Package sshkeys is the client side of SSH trust that the Docker hosts
// (package runtime) and git over SSH (package gitsource) share: which host
// keys known_hosts vouches for, which host key algorithms to ask a server
// for, and loading private keys. It formats no message for users; callers
// know their flags and say what to do in their own words.
package sshkeys

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// GlobalKnownHostsFile is where ssh(1) finds the host keys an administrator
// vouches for. Like ssh, both callers read it after the user's own files,
// also when a known_hosts file is named on the command line.
const GlobalKnownHostsFile = "/etc/ssh/ssh_known_hosts"

// DefaultGlobalKnownHostsFiles is ssh's default GlobalKnownHostsFile: the
// file above and the older ssh_known_hosts2 next to it.
func DefaultGlobalKnownHostsFiles() []string {
	return []string{GlobalKnownHostsFile, GlobalKnownHostsFile + "2"}
}

// UserKnownHostsFile is ssh's default UserKnownHostsFile under home.
func UserKnownHostsFile(home string) string {
	return filepath.Join(home, ".ssh", "known_hosts")
}

// KnownHosts holds the host keys of the known_hosts files that exist. There
// is no "accept new keys" mode: a key they do not list is a problem.
type KnownHosts struct {
	files []string
	cb    ssh.HostKeyCallback // nil when none of the files exists
}

// LoadKnownHosts reads those of files that exist, in order, each once. A
// file that is missing is no error: every host is then unknown, and the
// caller says how to add it.
func LoadKnownHosts(files []string) (*KnownHosts, error) {
	k := &KnownHosts{}
	for _, f := range files {
		if slices.Contains(k.files, f) {
			continue
		}
		if _, err := os.Stat(f); err == nil {
			k.files = append(k.files, f)
		}
	}
	if len(k.files) == 0 {
		return k, nil
	}
	cb, err := knownhosts.New(k.files...)
	if err != nil {
		return nil, err
	}
	k.cb = cb
	return k, nil
}

// Files are the files that were read.
func (k *KnownHosts) Files() []string { return slices.Clone(k.files) }

// probeKey never matches a real host, so checking it returns every key the
// files list for a host.
var probeKey = func() ssh.PublicKey {
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		panic(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		panic(err)
	}
	return k
}()

// anyRemote stands in for the server's address where the caller has none:
// knownhosts looks at it only when the host name is empty.
var anyRemote = &net.TCPAddr{IP: net.IPv4zero, Port: 22}

// Algorithms returns the host key algorithms to ask hostport's server for:
// those of the keys known_hosts holds for it. Without this the server may
// offer, say, its ecdsa key first while the file only has its ed25519 key,
// and the check fails as a mismatch though nothing changed. Nil means the
// host is unknown and the library default is fine: the check will refuse
// it. remote may be nil.
func (k *KnownHosts) Algorithms(hostport string, remote net.Addr) []string {
	if k.cb == nil {
		return nil
	}
	if remote == nil {
		remote = anyRemote
	}
	var ke *knownhosts.KeyError
	if err := k.cb(hostport, remote, probeKey); !errors.As(err, &ke) {
		return nil
	}
	var algos []string
	for _, w := range ke.Want {
		for _, a := range algorithmsForKeyType(w.Key.Type()) {
			if !slices.Contains(algos, a) {
				algos = append(algos, a)
			}
		}
	}
	return algos
}

func algorithmsForKeyType(t string) []string {
	if t == ssh.KeyAlgoRSA {
		// An RSA key signs with SHA-2 on any current server; ssh-rsa (SHA-1)
		// stays last for old ones.
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{t}
}

// Kind is why known_hosts does not vouch for a host key.
type Kind int

const (
	// Unknown: no line names the host.
	Unknown Kind = iota + 1
	// Mismatch: lines name the host, none with this key.
	Mismatch
	// Revoked: a @revoked line lists the key.
	Revoked
)

func (k Kind) String() string {
	switch k {
	case Unknown:
		return "unknown"
	case Mismatch:
		return "mismatch"
	case Revoked:
		return "revoked"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Entry is one known_hosts line.
type Entry struct {
	File    string
	Line    int
	KeyType string
}

func (e Entry) String() string { return fmt.Sprintf("%s:%d", e.File, e.Line) }

// KeyProblem is a host key that known_hosts does not vouch for.
type KeyProblem struct {
	Kind Kind
	// Host is the host as known_hosts names it: "host" on port 22,
	// "[host]:port" on others.
	Host string
	// Fingerprint is the offered key, "ssh-ed25519 SHA256:…".
	Fingerprint string
	// Entries are the lines for the host (Mismatch), or the @revoked line
	// (Revoked), in file order.
	Entries []Entry
	// Err is what knownhosts returned.
	Err error
}

func (p *KeyProblem) Error() string {
	switch p.Kind {
	case Mismatch:
		return fmt.Sprintf("host key of %s (%s) does not match %s", p.Host, p.Fingerprint, joinEntries(p.Entries))
	case Revoked:
		return fmt.Sprintf("host key of %s (%s) is revoked in %s", p.Host, p.Fingerprint, joinEntries(p.Entries))
	}
	return fmt.Sprintf("host key of %s (%s) is not in known_hosts", p.Host, p.Fingerprint)
}

func (p *KeyProblem) Unwrap() error { return p.Err }

func joinEntries(es []Entry) string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.String()
	}
	return strings.Join(s, ", ")
}

// Check is an ssh.HostKeyCallback. It returns nil when known_hosts vouches
// for key, a *KeyProblem when it does not, and another error when hostport
// is no host:port.
func (k *KnownHosts) Check(hostport string, remote net.Addr, key ssh.PublicKey) error {
	if remote == nil {
		remote = anyRemote
	}
	var err error = &knownhosts.KeyError{}
	if k.cb != nil {
		err = k.cb(hostport, remote, key)
	}
	if err == nil {
		return nil
	}
	p := &KeyProblem{
		Host:        knownhosts.Normalize(hostport),
		Fingerprint: key.Type() + " " + ssh.FingerprintSHA256(key),
		Err:         err,
	}
	var ke *knownhosts.KeyError
	var re *knownhosts.RevokedError
	switch {
	case errors.As(err, &ke) && len(ke.Want) == 0:
		p.Kind = Unknown
	case errors.As(err, &ke):
		p.Kind = Mismatch
		for _, w := range ke.Want {
			p.Entries = append(p.Entries, entry(w))
		}
	case errors.As(err, &re):
		p.Kind = Revoked
		p.Entries = []Entry{entry(re.Revoked)}
	default:
		return err
	}
	return p
}

func entry(k knownhosts.KnownKey) Entry {
	return Entry{File: k.Filename, Line: k.Line, KeyType: k.Key.Type()}
}

// KeyscanCommand is the ssh-keyscan command line that prints hostport's
// keys in known_hosts form; hash adds -H, which writes the host name hashed
// as ssh does with HashKnownHosts.
func KeyscanCommand(hostport string, hash bool) string {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = hostport, "22"
	}
	cmd := "ssh-keyscan"
	if hash {
		cmd += " -H"
	}
	if port != "22" {
		cmd += " -p " + port
	}
	return cmd + " " + host
}

// RemoveCommand is the ssh-keygen command line that removes hostport's
// lines, hashed or not, from file. "[host]:port" is quoted for the shell,
// which would take the brackets for a pattern.
func RemoveCommand(hostport, file string) string {
	entry := knownhosts.Normalize(hostport)
	if strings.HasPrefix(entry, "[") {
		entry = "'" + entry + "'"
	}
	return "ssh-keygen -R " + entry + " -f " + file
}
