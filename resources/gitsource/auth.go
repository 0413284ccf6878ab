package gitsource

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/kevinburke/ssh_config"
	"github.com/reconcile-dev/reconcile/runtime/sshkeys"
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
	kh, err := loadKnownHosts(o.KnownHostsFile, addr)
	if err != nil {
		return nil, noop, err
	}
	a.hostAlgos = kh.Algorithms(addr, nil)
	a.callback = checkHostKey(kh, kh.Files()[0])

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
	signer, err := sshkeys.LoadSigner(file)
	var locked *sshkeys.PassphraseError
	var unread *fs.PathError
	switch {
	case errors.As(err, &locked):
		return nil, fmt.Errorf("git: ssh key %s is protected by a passphrase; load it into ssh-agent (ssh-add %s) and leave out --git-ssh-key", file, file)
	case errors.As(err, &unread):
		return nil, fmt.Errorf("git: ssh key: %w", err)
	case err != nil:
		return nil, fmt.Errorf("git: %w", err)
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

// loadKnownHosts reads the given file, else ~/.ssh/known_hosts, and the
// system-wide file as ssh does. Unlike the Docker hosts, which report an
// unknown host when they reach it, a fetch has no use for known_hosts that
// does not exist, so that is said before dialing.
func loadKnownHosts(given, addr string) (*sshkeys.KnownHosts, error) {
	user := given
	if given != "" {
		if _, err := os.Stat(given); err != nil {
			return nil, fmt.Errorf("git: known_hosts file: %w; pass an existing file to --known-hosts", err)
		}
	} else {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, fmt.Errorf("git: no home folder for known_hosts: %w; pass --known-hosts FILE", err)
		}
		user = sshkeys.UserKnownHostsFile(home)
	}
	kh, err := sshkeys.LoadKnownHosts([]string{user, sshkeys.GlobalKnownHostsFile})
	if err != nil {
		return nil, fmt.Errorf("git: read known_hosts: %w", err)
	}
	if len(kh.Files()) == 0 {
		return nil, fmt.Errorf("git: %s does not exist, so the host key of %s cannot be checked; add it with %s, or ssh to the host once by hand, or pass --known-hosts FILE",
			user, knownhosts.Normalize(addr), keyscanHint(addr, user))
	}
	return kh, nil
}

func keyscanHint(addr, file string) string {
	return sshkeys.KeyscanCommand(addr, false) + " >> " + file
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
		return fmt.Sprintf("git: ssh host key of %s (%s) does not match %s; if the host was reinstalled, remove the old line (%s) and add the new key (%s), otherwise someone may be intercepting the connection",
			e.Host, e.Fingerprint, e.File, sshkeys.RemoveCommand(e.Addr, e.File), keyscanHint(e.Addr, e.File))
	}
	return fmt.Sprintf("git: ssh host %s is not in %s; check its key (%s) and add it: %s, or ssh to the host once by hand",
		e.Host, e.File, e.Fingerprint, keyscanHint(e.Addr, e.File))
}

func (e *HostKeyError) Unwrap() error { return e.Err }

func checkHostKey(kh *sshkeys.KnownHosts, file string) ssh.HostKeyCallback {
	return func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := kh.Check(hostname, remote, key)
		var p *sshkeys.KeyProblem
		switch {
		case err == nil:
			return nil
		case !errors.As(err, &p):
			return fmt.Errorf("git: ssh host key of %s: %w", knownhosts.Normalize(hostname), err)
		}
		return &HostKeyError{
			Host:        p.Host,
			File:        file,
			Addr:        hostname,
			Fingerprint: p.Fingerprint,
			Mismatch:    p.Kind == sshkeys.Mismatch,
			Revoked:     p.Kind == sshkeys.Revoked,
			Err:         p,
		}
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
