package runtime

import (
	"context"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func TestDial(t *testing.T) {
	dir := t.TempDir()
	userKey := newTestKey(t, dir, "id_user", "ed25519")
	strayKey := newTestKey(t, dir, "id_stray", "ecdsa")
	otherHost := newTestKey(t, dir, "other_host", "ed25519")
	s := startSSHD(t, userKey.pub())
	locked := lockedKeyFile(t, dir, "id_locked", userKey)

	type fixture struct {
		home  string
		agent string // SSH_AUTH_SOCK
		kh    string // known_hosts path
	}
	tests := []struct {
		name       string
		knownHosts string // content of known_hosts; "" leaves it missing
		// Content of the file the config's GlobalKnownHostsFile %GKH% names,
		// and of the second default global file (ssh_known_hosts2), which
		// the test puts under its home.
		globalKnownHosts, defaultGlobal string
		config                          string // content of an -F file; %PORT% etc. are replaced
		target                          Target
		opts                            func(f fixture) SSHOptions
		agentKeys                       []testKey
		wantAddr                        string
		wantUser                        string
		wantErr                         func(f fixture) string
	}{
		{
			name:       "key file",
			knownHosts: s.knownHostsLine("ed25519", false),
			target:     Target{Name: "node-1", SSH: "root@" + s.addr},
			opts: func(f fixture) SSHOptions {
				return SSHOptions{KeyFiles: []string{userKey.path}, KnownHostsFile: f.kh}
			},
			wantAddr: s.addr,
			wantUser: "root",
		},
		{
			name:       "agent",
			knownHosts: s.knownHostsLine("ed25519", false),
			target:     Target{Name: "node-1", SSH: "root@" + s.addr},
			agentKeys:  []testKey{strayKey, userKey},
			opts: func(f fixture) SSHOptions {
				return SSHOptions{UseAgent: true, KnownHostsFile: f.kh}
			},
			wantAddr: s.addr,
			wantUser: "root",
		},
		{
			name:       "config alias",
			knownHosts: s.knownHostsLine("ed25519", false),
			config: "Host node-1\n  HostName 127.0.0.1\n  Port %PORT%\n  User root\n" +
				"  IdentityFile %KEY%\n  UserKnownHostsFile %KH%\n  ConnectTimeout 3\n" +
				"Host *\n  User nobody\n  IdentityFile %STRAY%\n",
			target: Target{Name: "node-1", SSH: "node-1"},
			opts: func(f fixture) SSHOptions {
				return SSHOptions{ConfigFile: filepath.Join(f.home, "cfg")}
			},
			wantAddr: s.addr,
			wantUser: "root",
		},
		{
			// ssh offers agent keys only when they match an IdentityFile
			// under IdentitiesOnly: the agent's userKey must not be tried.
			name:       "IdentitiesOnly: agent key that is no IdentityFile is not offered",
			knownHosts: s.knownHostsLine("ed25519", false),
			config: "Host node-1\n  HostName 127.0.0.1\n  Port %PORT%\n  User root\n" +
				"  IdentityFile %STRAY%\n  IdentitiesOnly yes\n  UserKnownHostsFile %KH%\n",
			target:    Target{Name: "node-1", SSH: "node-1"},
			agentKeys: []testKey{userKey},
			opts: func(f fixture) SSHOptions {
				return SSHOptions{ConfigFile: filepath.Join(f.home, "cfg"), UseAgent: true}
			},
			wantErr: func(f fixture) string {
				return fmt.Sprintf("node-1: ssh root@%s: authentication failed, tried %s, agent %s (0 of 1 key: IdentitiesOnly): add one of these keys to ~root/.ssh/authorized_keys on the host, or pass the right --ssh-key or user: ssh: handshake failed: ssh: unable to authenticate, attempted methods [none publickey], no supported methods remain",
					s.addr, strayKey.path, f.agent)
			},
		},
		{
			// The IdentityFile needs a passphrase; its .pub tells which
			// agent key is its own.
			name:       "IdentitiesOnly: agent key of a passphrase-protected IdentityFile is offered",
			knownHosts: s.knownHostsLine("ed25519", false),
			config: "Host node-1\n  HostName 127.0.0.1\n  Port %PORT%\n  User root\n" +
				"  IdentityFile %LOCKED%\n  IdentitiesOnly yes\n  UserKnownHostsFile %KH%\n",
			target:    Target{Name: "node-1", SSH: "node-1"},
			agentKeys: []testKey{strayKey, userKey},
			opts: func(f fixture) SSHOptions {
				return SSHOptions{ConfigFile: filepath.Join(f.home, "cfg"), UseAgent: true}
			},
			wantAddr: s.addr,
			wantUser: "root",
		},
		{
			name:             "GlobalKnownHostsFile from the config vouches",
			globalKnownHosts: s.knownHostsLine("ed25519", false),
			config: "Host node-1\n  HostName 127.0.0.1\n  Port %PORT%\n  User root\n" +
				"  IdentityFile %KEY%\n  UserKnownHostsFile %KH%\n  GlobalKnownHostsFile %GKH%\n",
			target:   Target{Name: "node-1", SSH: "node-1"},
			opts:     func(f fixture) SSHOptions { return SSHOptions{ConfigFile: filepath.Join(f.home, "cfg")} },
			wantAddr: s.addr,
			wantUser: "root",
		},
		{
			// A given GlobalKnownHostsFile replaces the default global files.
			name:          "GlobalKnownHostsFile in the config: the default global files are not read",
			defaultGlobal: s.knownHostsLine("ed25519", false),
			config: "Host node-1\n  HostName 127.0.0.1\n  Port %PORT%\n  User root\n" +
				"  IdentityFile %KEY%\n  GlobalKnownHostsFile none\n",
			target: Target{Name: "node-1", SSH: "node-1"},
			opts: func(f fixture) SSHOptions {
				return SSHOptions{ConfigFile: filepath.Join(f.home, "cfg"), KnownHostsFile: f.kh}
			},
			wantErr: func(f fixture) string {
				return fmt.Sprintf("node-1: host key for %s (%s) is not in %s: add it (ssh-keyscan -H -p %s 127.0.0.1 >> %s) after checking it out of band",
					s.addr, offered(s.hostKeys["ecdsa"]), f.kh, s.port, f.kh)
			},
		},
		{
			// As with ssh -o UserKnownHostsFile=FILE: the given file replaces
			// the user's, the global ones (here ssh_known_hosts2) stay.
			name:          "--known-hosts: the default global files are read too, as ssh does",
			defaultGlobal: s.knownHostsLine("ed25519", false),
			target:        Target{Name: "node-1", SSH: "root@" + s.addr},
			opts: func(f fixture) SSHOptions {
				return SSHOptions{KeyFiles: []string{userKey.path}, KnownHostsFile: f.kh}
			},
			wantAddr: s.addr,
			wantUser: "root",
		},
		{
			name:       "--known-hosts replaces UserKnownHostsFile of the config",
			knownHosts: s.knownHostsLine("ed25519", false),
			config: "Host node-1\n  HostName 127.0.0.1\n  Port %PORT%\n  User root\n" +
				"  IdentityFile %KEY%\n  UserKnownHostsFile %KH%\n",
			target: Target{Name: "node-1", SSH: "node-1"},
			opts: func(f fixture) SSHOptions {
				return SSHOptions{ConfigFile: filepath.Join(f.home, "cfg"), KnownHostsFile: filepath.Join(f.home, "other_known_hosts")}
			},
			wantErr: func(f fixture) string {
				kh := filepath.Join(f.home, "other_known_hosts")
				return fmt.Sprintf("node-1: host key for %s (%s) is not in %s: add it (ssh-keyscan -H -p %s 127.0.0.1 >> %s) after checking it out of band",
					s.addr, offered(s.hostKeys["ecdsa"]), kh, s.port, kh)
			},
		},
		{
			name:       "default config file and default key",
			knownHosts: s.knownHostsLine("ed25519", false),
			config:     "Host n1\n  HostName 127.0.0.1\n  Port %PORT%\n  UserKnownHostsFile %KH%\n",
			target:     Target{Name: "node-1", SSH: "root@n1"},
			opts:       func(f fixture) SSHOptions { return SSHOptions{} },
			wantAddr:   s.addr,
			wantUser:   "root",
		},
		{
			name:       "hashed known_hosts entry",
			knownHosts: s.knownHostsLine("ed25519", true),
			target:     Target{Name: "node-1", SSH: "root@" + s.addr},
			opts: func(f fixture) SSHOptions {
				return SSHOptions{KeyFiles: []string{userKey.path}, KnownHostsFile: f.kh}
			},
			wantAddr: s.addr,
			wantUser: "root",
		},
		{
			// The server also has an ecdsa key, which Go's client would ask
			// for first; known_hosts holding only ed25519 must still work.
			name:       "known_hosts has only the ed25519 key",
			knownHosts: "# keyscan\n" + s.knownHostsLine("ed25519", false),
			target:     Target{Name: "node-1", SSH: "root@" + s.addr},
			opts: func(f fixture) SSHOptions {
				return SSHOptions{KeyFiles: []string{userKey.path}, KnownHostsFile: f.kh}
			},
			wantAddr: s.addr,
			wantUser: "root",
		},
		{
			name:       "known_hosts has only the rsa key",
			knownHosts: s.knownHostsLine("rsa", true),
			target:     Target{Name: "node-1", SSH: "root@" + s.addr},
			opts: func(f fixture) SSHOptions {
				return SSHOptions{KeyFiles: []string{userKey.path}, KnownHostsFile: f.kh}
			},
			wantAddr: s.addr,
			wantUser: "root",
		},
		{
			name:   "unknown host key",
			target: Target{Name: "node-1", SSH: "root@" + s.addr},
			opts: func(f fixture) SSHOptions {
				return SSHOptions{KeyFiles: []string{userKey.path}, KnownHostsFile: f.kh}
			},
			wantErr: func(f fixture) string {
				return fmt.Sprintf("node-1: host key for %s (%s) is not in %s: add it (ssh-keyscan -H -p %s 127.0.0.1 >> %s) after checking it out of band",
					s.addr, offered(s.hostKeys["ecdsa"]), f.kh, s.port, f.kh)
			},
		},
		{
			name:       "unknown host key, file lists other hosts",
			knownHosts: "[127.0.0.1]:1 " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(otherHost.pub()))) + "\n",
			target:     Target{Name: "node-1", SSH: "root@" + s.addr},
			opts: func(f fixture) SSHOptions {
				return SSHOptions{KeyFiles: []string{userKey.path}, KnownHostsFile: f.kh}
			},
			wantErr: func(f fixture) string {
				return fmt.Sprintf("node-1: host key for %s (%s) is not in %s: add it (ssh-keyscan -H -p %s 127.0.0.1 >> %s) after checking it out of band",
					s.addr, offered(s.hostKeys["ecdsa"]), f.kh, s.port, f.kh)
			},
		},
		{
			name:       "changed host key",
			knownHosts: "# reinstalled since\n" + knownHostsEntry(s.addr, otherHost),
			target:     Target{Name: "node-1", SSH: "root@" + s.addr},
			opts: func(f fixture) SSHOptions {
				return SSHOptions{KeyFiles: []string{userKey.path}, KnownHostsFile: f.kh}
			},
			wantErr: func(f fixture) string {
				return fmt.Sprintf("node-1: host key for %s (%s) does not match %s:2: possible man-in-the-middle; if the host was reinstalled, remove the old entry with ssh-keygen -R '[127.0.0.1]:%s' -f %s",
					s.addr, offered(s.hostKeys["ed25519"]), f.kh, s.port, f.kh)
			},
		},
		{
			name:       "key not authorized",
			knownHosts: s.knownHostsLine("ed25519", false),
			target:     Target{Name: "node-1", SSH: "root@" + s.addr},
			agentKeys:  []testKey{strayKey},
			opts: func(f fixture) SSHOptions {
				return SSHOptions{KeyFiles: []string{strayKey.path}, UseAgent: true, KnownHostsFile: f.kh}
			},
			wantErr: func(f fixture) string {
				return fmt.Sprintf("node-1: ssh root@%s: authentication failed, tried %s, agent %s (1 key): add one of these keys to ~root/.ssh/authorized_keys on the host, or pass the right --ssh-key or user: ssh: handshake failed: ssh: unable to authenticate, attempted methods [none publickey], no supported methods remain",
					s.addr, strayKey.path, f.agent)
			},
		},
		{
			name:       "no keys at all",
			knownHosts: s.knownHostsLine("ed25519", false),
			target:     Target{Name: "node-1", SSH: "root@" + s.addr},
			opts:       func(f fixture) SSHOptions { return SSHOptions{UseAgent: true, KnownHostsFile: f.kh} },
			wantErr: func(f fixture) string {
				return "node-1: no usable ssh key (none found): pass --ssh-key, set IdentityFile in the ssh config, or load a key into ssh-agent"
			},
		},
		{
			name:   "missing key file",
			target: Target{Name: "node-1", SSH: "root@" + s.addr},
			opts: func(f fixture) SSHOptions {
				return SSHOptions{KeyFiles: []string{filepath.Join(f.home, "nope")}, KnownHostsFile: f.kh}
			},
			wantErr: func(f fixture) string {
				return fmt.Sprintf("node-1: read ssh key: open %s/nope: no such file or directory", f.home)
			},
		},
		{
			name:   "missing config file",
			target: Target{Name: "node-1", SSH: "node-1"},
			opts:   func(f fixture) SSHOptions { return SSHOptions{ConfigFile: filepath.Join(f.home, "cfg")} },
			wantErr: func(f fixture) string {
				return fmt.Sprintf("node-1: read ssh config: open %s/cfg: no such file or directory", f.home)
			},
		},
		{
			name:   "docker host that is not a unix socket",
			target: Target{Name: "node-1", SSH: "root@" + s.addr, DockerHost: "tcp://127.0.0.1:2375"},
			opts:   func(f fixture) SSHOptions { return SSHOptions{} },
			wantErr: func(f fixture) string {
				return `node-1: docker host "tcp://127.0.0.1:2375": only unix:///absolute/path sockets can be reached over ssh`
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := fixture{home: isolateHome(t)}
			f.kh = filepath.Join(f.home, "known_hosts")
			if tt.knownHosts != "" {
				writeFile(t, f.kh, tt.knownHosts)
			}
			gkh := filepath.Join(f.home, "global_known_hosts")
			if tt.globalKnownHosts != "" {
				writeFile(t, gkh, tt.globalKnownHosts)
			}
			// The machine's own /etc/ssh files stay out of the test.
			defaults := []string{filepath.Join(f.home, "ssh_known_hosts"), filepath.Join(f.home, "ssh_known_hosts2")}
			setDefaultGlobalKnownHosts(t, defaults)
			if tt.defaultGlobal != "" {
				writeFile(t, defaults[1], tt.defaultGlobal)
			}
			if tt.agentKeys != nil {
				f.agent = startAgent(t, tt.agentKeys...)
				t.Setenv("SSH_AUTH_SOCK", f.agent)
			}
			if tt.config != "" {
				cfg := strings.NewReplacer("%PORT%", s.port, "%KEY%", userKey.path,
					"%STRAY%", strayKey.path, "%LOCKED%", locked, "%KH%", f.kh, "%GKH%", gkh).Replace(tt.config)
				writeFile(t, filepath.Join(f.home, "cfg"), cfg)
				// The default config and the default key, for the case that
				// passes no options.
				if err := os.MkdirAll(filepath.Join(f.home, ".ssh"), 0o700); err != nil {
					t.Fatal(err)
				}
				writeFile(t, filepath.Join(f.home, ".ssh", "config"), cfg)
				writeTestKey(t, filepath.Join(f.home, ".ssh"), "id_ed25519", userKey.raw)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			h, err := Dial(ctx, tt.target, tt.opts(f))
			if tt.wantErr != nil {
				if err == nil {
					h.Close()
					t.Fatalf("Dial succeeded, want error")
				}
				if got, want := err.Error(), tt.wantErr(f); got != want {
					t.Fatalf("error:\n got: %s\nwant: %s", got, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			defer h.Close()
			if h.Name != tt.target.Name || h.Addr != tt.wantAddr || h.User != tt.wantUser {
				t.Errorf("host = %q %q %q, want %q %q %q", h.Name, h.Addr, h.User, tt.target.Name, tt.wantAddr, tt.wantUser)
			}
			out, err := h.Run(ctx, nil, "echo hello")
			if err != nil || string(out) != "hello\n" {
				t.Errorf("Run = %q, %v", out, err)
			}
		})
	}
}

func TestDialHostKeyTypeGone(t *testing.T) {
	home := isolateHome(t)
	key := newTestKey(t, home, "id_user", "ed25519")
	// Reinstalled with only an ecdsa host key; known_hosts still has the
	// old ed25519 one.
	s := startSSHDWithHostKeys(t, []string{"ecdsa"}, key.pub())
	old := newTestKey(t, home, "old_host", "ed25519")
	kh := writeFile(t, filepath.Join(home, "known_hosts"), knownHostsEntry(s.addr, old))
	_, err := Dial(context.Background(), Target{Name: "node-1", SSH: "root@" + s.addr},
		SSHOptions{KeyFiles: []string{key.path}, KnownHostsFile: kh})
	want := fmt.Sprintf("node-1: host key for %s does not match %s: the server has no key of type ssh-ed25519: possible man-in-the-middle; if the host was reinstalled, remove the old entry with ssh-keygen -R '[127.0.0.1]:%s' -f %s",
		s.addr, kh, s.port, kh)
	if err == nil || err.Error() != want {
		t.Fatalf("error:\n got: %v\nwant: %s", err, want)
	}
}

// lockedKeyFile writes k protected by a passphrase, with its .pub next to
// it as ssh-keygen leaves it.
func lockedKeyFile(t *testing.T, dir, name string, k testKey) string {
	t.Helper()
	block, err := ssh.MarshalPrivateKeyWithPassphrase(k.raw, name, []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	path := writeFile(t, filepath.Join(dir, name), string(pem.EncodeToMemory(block)))
	writeFile(t, path+".pub", string(ssh.MarshalAuthorizedKey(k.pub())))
	return path
}

func offered(k testKey) string {
	return k.pub().Type() + " " + ssh.FingerprintSHA256(k.pub())
}

func knownHostsEntry(addr string, k testKey) string {
	host, port, _ := net.SplitHostPort(addr)
	return fmt.Sprintf("[%s]:%s %s", host, port, ssh.MarshalAuthorizedKey(k.pub()))
}

func TestDialTimeout(t *testing.T) {
	isolateHome(t)
	dir := t.TempDir()
	key := newTestKey(t, dir, "id", "ed25519")
	// Accepts TCP and never says a word, like a wedged sshd.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()

	start := time.Now()
	_, err = Dial(context.Background(), Target{Name: "node-9", SSH: "root@" + l.Addr().String()},
		SSHOptions{KeyFiles: []string{key.path}, Timeout: 300 * time.Millisecond})
	want := fmt.Sprintf("node-9: ssh %s: no ssh handshake within 300ms (raise ConnectTimeout or the timeout): context deadline exceeded", l.Addr())
	if err == nil || err.Error() != want {
		t.Fatalf("error:\n got: %v\nwant: %s", err, want)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Dial took %s, want about 300ms", d)
	}
}

// setDefaultGlobalKnownHosts stands files in for /etc/ssh/ssh_known_hosts
// and ssh_known_hosts2 for the rest of the test.
func setDefaultGlobalKnownHosts(t *testing.T, files []string) {
	old := defaultGlobalKnownHosts
	defaultGlobalKnownHosts = files
	t.Cleanup(func() { defaultGlobalKnownHosts = old })
}
