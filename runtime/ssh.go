package runtime

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kevinburke/ssh_config"
	"github.com/reconcile-dev/reconcile/runtime/sshkeys"
)

// SSHOptions says how to reach hosts; the zero value behaves like a plain
// `ssh host` with the user's own config, keys and known_hosts.
type SSHOptions struct {
	// ConfigFile is ssh -F. Empty means ~/.ssh/config when it exists.
	// HostName, User, Port, IdentityFile, IdentitiesOnly,
	// UserKnownHostsFile, GlobalKnownHostsFile and ConnectTimeout are
	// honoured. StrictHostKeyChecking is not: host keys are always
	// checked, because a reconciler that runs unattended must never trust
	// a key it has not been told about.
	ConfigFile string
	// KeyFiles is --ssh-key. Empty means IdentityFile from the config, else
	// whichever of ~/.ssh/id_ed25519, id_ecdsa and id_rsa exist.
	KeyFiles []string
	// KnownHostsFile is --known-hosts, ssh's -o UserKnownHostsFile: it
	// replaces the user's files, which are otherwise UserKnownHostsFile
	// from the config, else ~/.ssh/known_hosts. The global files are read
	// as well, as ssh reads them: GlobalKnownHostsFile from the config
	// ("none" for no file), else /etc/ssh/ssh_known_hosts and
	// /etc/ssh/ssh_known_hosts2.
	KnownHostsFile string
	// UseAgent offers the keys of the agent at SSH_AUTH_SOCK when it is set.
	UseAgent bool
	// Timeout bounds TCP dial plus SSH handshake. Zero means ConnectTimeout
	// from the config, else 10s.
	Timeout time.Duration
}

// Target is one host as the inventory names it.
type Target struct {
	Name string
	// SSH is user@host[:port], [v6addr]:port, or an alias from the ssh config.
	SSH string
	// DockerHost is the Docker socket on the host; empty means
	// unix:///var/run/docker.sock.
	DockerHost string
}

const (
	defaultDockerHost = "unix:///var/run/docker.sock"
	defaultTimeout    = 10 * time.Second
)

// endpoint is a Target resolved against the options and the ssh config:
// everything Dial needs, with the defaults filled in.
type endpoint struct {
	name      string
	alias     string // host part of Target.SSH, as the config matches it
	hostname  string
	port      string
	user      string
	keyFiles  []string
	keysGiven bool // keyFiles came from the user, so a missing one is an error
	// identitiesOnly is IdentitiesOnly yes: of the agent's keys only those
	// of keyFiles are offered.
	identitiesOnly bool
	knownHosts     []string // the user's known_hosts files
	// globalKnownHosts are the administrator's files, read after
	// knownHosts.
	globalKnownHosts []string
	timeout          time.Duration
	socket           string // remote unix socket path of dockerd
}

func (e endpoint) addr() string { return net.JoinHostPort(e.hostname, e.port) }

func resolve(t Target, o SSHOptions) (endpoint, error) {
	e := endpoint{name: t.Name}
	if t.SSH == "" {
		return e, fmt.Errorf("%s: no ssh address: set spec.nodes[].ssh in the cluster inventory", t.Name)
	}
	user, host, port, err := splitSSHAddr(t.SSH)
	if err != nil {
		return e, fmt.Errorf("%s: ssh address %q: %w", t.Name, t.SSH, err)
	}
	e.alias = host

	home, err := os.UserHomeDir()
	if err != nil {
		return e, fmt.Errorf("%s: %w", t.Name, err)
	}
	cfg, cfgPath, err := loadSSHConfig(o.ConfigFile, home)
	if err != nil {
		return e, fmt.Errorf("%s: %w", t.Name, err)
	}
	get := func(key string) string {
		if cfg == nil {
			return ""
		}
		v, _ := cfg.Get(host, key)
		return strings.TrimSpace(v)
	}

	// Dialing straight past a jump host would reach the wrong machine or
	// none; better to say so than to time out.
	for _, k := range []string{"ProxyJump", "ProxyCommand"} {
		if v := get(k); v != "" && v != "none" {
			return e, fmt.Errorf("%s: %s %q in %s is not supported: make the host reachable directly", t.Name, k, v, cfgPath)
		}
	}

	e.hostname = host
	if v := get("HostName"); v != "" {
		e.hostname = strings.ReplaceAll(v, "%h", host)
	}
	e.port = port
	portFrom := t.SSH
	if e.port == "" {
		e.port, portFrom = get("Port"), "Port in "+cfgPath
	}
	if e.port == "" {
		e.port = "22"
	}
	if n, err := strconv.Atoi(e.port); err != nil || n < 1 || n > 65535 {
		return e, fmt.Errorf("%s: ssh port %q of %s is not a port number", t.Name, e.port, portFrom)
	}
	e.user = user
	if e.user == "" {
		e.user = get("User")
	}
	if e.user == "" {
		e.user = localUser()
	}

	expand := func(p string) string { return expandTokens(p, home, e) }
	switch {
	case len(o.KeyFiles) > 0:
		e.keysGiven = true
		for _, k := range o.KeyFiles {
			e.keyFiles = append(e.keyFiles, expand(k))
		}
	case cfg != nil:
		ids, _ := cfg.GetAll(host, "IdentityFile")
		for _, k := range ids {
			e.keyFiles = append(e.keyFiles, expand(strings.TrimSpace(k)))
		}
	}
	e.identitiesOnly = strings.EqualFold(get("IdentitiesOnly"), "yes")
	if len(e.keyFiles) == 0 {
		for _, k := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
			e.keyFiles = append(e.keyFiles, filepath.Join(home, ".ssh", k))
		}
	}

	// As in OpenSSH, the user's files and the global ones are two settings:
	// naming one replaces its defaults and leaves the other alone.
	switch {
	case o.KnownHostsFile != "":
		e.knownHosts = []string{expand(o.KnownHostsFile)}
	case get("UserKnownHostsFile") != "":
		e.knownHosts = knownHostsFiles(get("UserKnownHostsFile"), expand)
	default:
		e.knownHosts = []string{sshkeys.UserKnownHostsFile(home)}
	}
	if v := get("GlobalKnownHostsFile"); v != "" {
		e.globalKnownHosts = knownHostsFiles(v, expand)
	} else {
		e.globalKnownHosts = slices.Clone(defaultGlobalKnownHosts)
	}
	if len(e.knownHosts) == 0 && len(e.globalKnownHosts) == 0 {
		return e, fmt.Errorf("%s: UserKnownHostsFile and GlobalKnownHostsFile are none in %s, so no host key can be checked: pass --known-hosts FILE", t.Name, cfgPath)
	}

	e.timeout = o.Timeout
	if e.timeout == 0 {
		if v := get("ConnectTimeout"); v != "" {
			s, err := strconv.Atoi(v)
			if err != nil || s <= 0 {
				return e, fmt.Errorf("%s: ConnectTimeout %q in %s is not a number of seconds", t.Name, v, cfgPath)
			}
			e.timeout = time.Duration(s) * time.Second
		}
	}
	if e.timeout == 0 {
		e.timeout = defaultTimeout
	}

	e.socket, err = dockerSocket(t.DockerHost)
	if err != nil {
		return e, fmt.Errorf("%s: %w", t.Name, err)
	}
	return e, nil
}

// defaultGlobalKnownHosts is ssh's default GlobalKnownHostsFile; tests
// point it elsewhere.
var defaultGlobalKnownHosts = sshkeys.DefaultGlobalKnownHostsFiles()

// knownHostsFiles is the value of UserKnownHostsFile or
// GlobalKnownHostsFile: files separated by spaces, or "none" for no file.
func knownHostsFiles(v string, expand func(string) string) []string {
	if v == "none" {
		return nil
	}
	var files []string
	for _, f := range strings.Fields(v) {
		files = append(files, expand(f))
	}
	return files
}

// splitSSHAddr takes user@host, user@host:port, [v6]:port or ssh://user@host:port
// apart. A bare IPv6 address without brackets is taken as a host.
func splitSSHAddr(s string) (user, host, port string, err error) {
	s = strings.TrimPrefix(s, "ssh://")
	if i := strings.LastIndex(s, "@"); i >= 0 {
		user, s = s[:i], s[i+1:]
		if user == "" {
			return "", "", "", errors.New("empty user before @")
		}
	}
	switch {
	case strings.HasPrefix(s, "["):
		if strings.HasSuffix(s, "]") {
			host = s[1 : len(s)-1]
		} else if host, port, err = net.SplitHostPort(s); err != nil {
			return "", "", "", err
		}
	case strings.Count(s, ":") == 1:
		if host, port, err = net.SplitHostPort(s); err != nil {
			return "", "", "", err
		}
	default:
		host = s
	}
	if host == "" {
		return "", "", "", errors.New("no host")
	}
	return user, host, port, nil
}

// loadSSHConfig reads the -F file, which must exist, or else ~/.ssh/config
// when it exists. A nil config means there is none.
func loadSSHConfig(path, home string) (*ssh_config.Config, string, error) {
	explicit := path != ""
	if !explicit {
		path = filepath.Join(home, ".ssh", "config")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		if !explicit && errors.Is(err, os.ErrNotExist) {
			return nil, "", nil
		}
		return nil, path, fmt.Errorf("read ssh config: %w", err)
	}
	cfg, err := ssh_config.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, path, fmt.Errorf("parse ssh config %s: %w", path, err)
	}
	return cfg, path, nil
}

// expandTokens does the subset of ssh_config TOKENS that paths use in
// practice; IdentityFile ~/.ssh/%r@%h is a common idiom.
func expandTokens(p, home string, e endpoint) string {
	if p == "~" {
		return home
	}
	if strings.HasPrefix(p, "~/") {
		p = filepath.Join(home, p[2:])
	}
	if !strings.Contains(p, "%") {
		return p
	}
	r := strings.NewReplacer("%%", "%", "%d", home, "%h", e.hostname, "%n", e.alias,
		"%p", e.port, "%r", e.user, "%u", localUser())
	return r.Replace(p)
}

func localUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return os.Getenv("USER")
}

func dockerSocket(dockerHost string) (string, error) {
	if dockerHost == "" {
		dockerHost = defaultDockerHost
	}
	path, ok := strings.CutPrefix(dockerHost, "unix://")
	if !ok || !strings.HasPrefix(path, "/") {
		return "", fmt.Errorf("docker host %q: only unix:///absolute/path sockets can be reached over ssh", dockerHost)
	}
	return path, nil
}
