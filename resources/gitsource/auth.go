package gitsource

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/kevinburke/ssh_config"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Environment variables holding HTTPS credentials.
const (
	TokenEnv    = "RECONCILE_GIT_TOKEN"
	UsernameEnv = "RECONCILE_GIT_USERNAME"
	PasswordEnv = "RECONCILE_GIT_PASSWORD"
)

// authFor picks credentials for the endpoint's protocol. The returned func
// releases what the credentials hold open (the ssh-agent connection).
func authFor(ep *transport.Endpoint, o Options) (transport.AuthMethod, func(), error) {
	noop := func() {}
	switch ep.Protocol {
	case "http", "https":
		a, err := httpAuth()
		return a, noop, err
	case "ssh":
		return sshAuthFor(ep, o)
	}
	return nil, noop, nil
}

func httpAuth() (transport.AuthMethod, error) {
	token, user, pass := os.Getenv(TokenEnv), os.Getenv(UsernameEnv), os.Getenv(PasswordEnv)
	switch {
	case token != "":
		// Basic auth with the token as password is what GitHub, GitLab and
		// Gitea all accept; the user name only matters to some servers.
		if user == "" {
			user = "git"
		}
		return &githttp.BasicAuth{Username: user, Password: token}, nil
	case user != "" && pass != "":
		return &githttp.BasicAuth{Username: user, Password: pass}, nil
	case user != "" || pass != "":
		return nil, fmt.Errorf("git: set both %s and %s, or %s", UsernameEnv, PasswordEnv, TokenEnv)
	}
	// Credentials in the URL itself are used by go-git when Auth is nil.
	return nil, nil
}

// sshAuth is go-git's ssh.AuthMethod, built by hand so the host key check
// always uses known_hosts with the algorithms it lists for the host.
type sshAuth struct {
	user      string
	methods   []ssh.AuthMethod
	callback  ssh.HostKeyCallback
	hostAlgos []string
	tried     string // "key /path" or "ssh-agent keys", for messages
}

func (a *sshAuth) Name() string   { return "reconcile-ssh" }
func (a *sshAuth) String() string { return "user: " + a.user + ", " + a.tried }

func (a *sshAuth) ClientConfig() (*ssh.ClientConfig, error) {
	return &ssh.ClientConfig{
		User:              a.user,
		Auth:              a.methods,
		HostKeyCallback:   a.callback,
		HostKeyAlgorithms: a.hostAlgos,
		Timeout:           30 * time.Second,
	}, nil
}

func sshAuthFor(ep *transport.Endpoint, o Options) (transport.AuthMethod, func(), error) {
	noop := func() {}
	a := &sshAuth{user: ep.User}
	if a.user == "" {
		// Like ssh(1): no user in the URL means the local user name.
		u, err := user.Current()
		if err != nil {
			return nil, noop, fmt.Errorf("git: no user in %s and no local user name: %w", redactURL(o.URL), err)
		}
		a.user = u.Username
	}
	addr := sshHostPort(ep)
	files, err := knownHostsFiles(o.KnownHostsFile, addr)
	if err != nil {
		return nil, noop, err
	}
	cb, err := knownhosts.New(files...)
	if err != nil {
		return nil, noop, fmt.Errorf("git: read known_hosts: %w", err)
	}
	a.hostAlgos = knownAlgorithms(cb, addr)
	a.callback = checkHostKey(cb, files[0])

	closer := noop
	if o.SSHKeyFile != "" {
		signer, err := loadKey(o.SSHKeyFile)
		if err != nil {
			return nil, noop, err
		}
		a.methods = []ssh.AuthMethod{ssh.PublicKeys(signer)}
		a.tried = "key " + o.SSHKeyFile
	} else {
		sock := os.Getenv("SSH_AUTH_SOCK")
		if sock == "" {
			return nil, noop, fmt.Errorf("git: no ssh key for %s: start ssh-agent and ssh-add your key (SSH_AUTH_SOCK is not set), or pass --git-ssh-key FILE", redactURL(o.URL))
		}
		conn, err := net.Dial("unix", sock)
		if err != nil {
			return nil, noop, fmt.Errorf("git: ssh-agent at SSH_AUTH_SOCK=%s: %w; start ssh-agent or pass --git-ssh-key FILE", sock, err)
		}
		a.methods = []ssh.AuthMethod{ssh.PublicKeysCallback(agent.NewClient(conn).Signers)}
		a.tried = "ssh-agent keys"
		closer = func() { conn.Close() }
	}
	return a, closer, nil
}

func loadKey(file string) (ssh.Signer, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("git: ssh key: %w", err)
	}
	signer, err := ssh.ParsePrivateKey(pem)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		return nil, fmt.Errorf("git: ssh key %s is protected by a passphrase; load it into ssh-agent (ssh-add %s) and leave out --git-ssh-key", file, file)
	}
	if err != nil {
		return nil, fmt.Errorf("git: ssh key %s: %w", file, err)
	}
	return signer, nil
}

// sshHostPort is the address go-git's ssh transport dials, including a
// HostName/Port from ~/.ssh/config as go-git applies it.
func sshHostPort(ep *transport.Endpoint) string {
	host, port := ep.Host, ep.Port
	if h := ssh_config.Get(ep.Host, "HostName"); h != "" {
		host = h
		if p, err := strconv.Atoi(ssh_config.Get(ep.Host, "Port")); err == nil {
			port = p
		}
	}
	if port <= 0 {
		port = 22
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

func knownHostsFiles(given, addr string) ([]string, error) {
	if given != "" {
		if _, err := os.Stat(given); err != nil {
			return nil, fmt.Errorf("git: known_hosts file: %w; pass an existing file to --known-hosts", err)
		}
		return []string{given}, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return nil, fmt.Errorf("git: no home folder for known_hosts: %w; pass --known-hosts FILE", err)
	}
	user := filepath.Join(home, ".ssh", "known_hosts")
	files := []string{}
	for _, f := range []string{user, "/etc/ssh/ssh_known_hosts"} {
		if _, err := os.Stat(f); err == nil {
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("git: %s does not exist, so the host key of %s cannot be checked; add it with %s, or ssh to the host once by hand, or pass --known-hosts FILE",
			user, knownhosts.Normalize(addr), keyscanHint(addr, user))
	}
	return files, nil
}

func keyscanHint(addr, file string) string {
	host, port, _ := net.SplitHostPort(addr)
	if port == "22" {
		return fmt.Sprintf("ssh-keyscan %s >> %s", host, file)
	}
	return fmt.Sprintf("ssh-keyscan -p %s %s >> %s", port, host, file)
}

// knownAlgorithms lists the host key algorithms known_hosts holds for addr.
// Without this the server may offer a key type known_hosts has no line for,
// and the handshake fails with "key mismatch" although the host is known.
func knownAlgorithms(cb ssh.HostKeyCallback, addr string) []string {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil
	}
	probe, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil
	}
	// A fresh random key is never in known_hosts; the KeyError that comes
	// back lists the keys that are.
	err = cb(addr, &net.TCPAddr{IP: net.IPv4zero, Port: 22}, probe.PublicKey())
	var ke *knownhosts.KeyError
	if !errors.As(err, &ke) {
		return nil
	}
	var algos []string
	seen := map[string]bool{}
	add := func(a string) {
		if !seen[a] {
			seen[a] = true
			algos = append(algos, a)
		}
	}
	for _, k := range ke.Want {
		switch t := k.Key.Type(); t {
		case ssh.KeyAlgoRSA:
			add(ssh.KeyAlgoRSASHA512)
			add(ssh.KeyAlgoRSASHA256)
			add(ssh.KeyAlgoRSA)
		default:
			add(t)
		}
	}
	return algos
}

// HostKeyError is a host key that known_hosts does not vouch for.
type HostKeyError struct {
	Host        string // as in known_hosts, e.g. "[127.0.0.1]:2222"
	File        string // the known_hosts file to fix
	Addr        string // host:port dialed
	Fingerprint string
	Mismatch    bool // known_hosts has other keys for the host
	Revoked     bool
	Err         error
}

func (e *HostKeyError) Error() string {
	switch {
	case e.Revoked:
		return fmt.Sprintf("git: ssh host key %s of %s is marked @revoked in known_hosts; refusing to connect", e.Fingerprint, e.Host)
	case e.Mismatch:
		return fmt.Sprintf("git: ssh host key of %s (%s) does not match %s; if the host was reinstalled, remove the old line (ssh-keygen -R '%s' -f %s) and add the new key (%s), otherwise someone may be intercepting the connection",
			e.Host, e.Fingerprint, e.File, e.Host, e.File, keyscanHint(e.Addr, e.File))
	}
	return fmt.Sprintf("git: ssh host %s is not in %s; check its key (%s) and add it: %s, or ssh to the host once by hand",
		e.Host, e.File, e.Fingerprint, keyscanHint(e.Addr, e.File))
}

func (e *HostKeyError) Unwrap() error { return e.Err }

func checkHostKey(cb ssh.HostKeyCallback, file string) ssh.HostKeyCallback {
	return func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := cb(hostname, remote, key)
		if err == nil {
			return nil
		}
		he := &HostKeyError{
			Host:        knownhosts.Normalize(hostname),
			File:        file,
			Addr:        hostname,
			Fingerprint: key.Type() + " " + ssh.FingerprintSHA256(key),
			Err:         err,
		}
		var ke *knownhosts.KeyError
		var re *knownhosts.RevokedError
		switch {
		case errors.As(err, &ke):
			he.Mismatch = len(ke.Want) > 0
		case errors.As(err, &re):
			he.Revoked = true
		default:
			return fmt.Errorf("git: ssh host key of %s: %w", he.Host, err)
		}
		return he
	}
}

// redactURL drops a password from an https URL so it never lands in logs.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil || !strings.Contains(raw, "://") {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		return u.Redacted()
	}
	return raw
}
