// Package lab runs a cluster of real Docker hosts on one Linux machine, for
// the integration tests and `make demo`. Each host is its own network, mount,
// UTS and pid namespace with its own hostname, address on a lab bridge,
// iptables, routing table, dockerd at the default socket path and sshd. The
// root namespace, where the CLI and the tests run, reaches every host's sshd
// with the lab's own key, known_hosts and ssh_config, as a user would.
//
// Addresses are fixed (the ranges the whole project treats as the lab's), so
// only one lab runs on a machine at a time: Up and Down serialize on a lock
// file, and Up refuses when another lab or anything else holds the ranges.
package lab

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

const (
	// BaseDir holds one state folder per lab. Not /run: each host mounts its
	// own tmpfs on /run, and its sshd must still read the lab's files.
	BaseDir = "/var/lib/reconcile-lab"

	DefaultName  = "rcl"
	DefaultHosts = 3

	// The lab's ranges. The root namespace has BridgeIP; node-N has
	// 198.51.100.(10+N). Pods and service VIPs use the other two, as the
	// written Cluster manifest says.
	HostNet     = "198.51.100.0/24"
	BridgeIP    = "198.51.100.1"
	PodCIDR     = "198.18.0.0/16"
	ServiceCIDR = "198.19.0.0/16"

	// ClusterName is metadata.name of the written Cluster manifest.
	ClusterName = "lab"

	maxHosts = 89 // 198.51.100.11 .. .99

	// PodserverImage is the lab's own image; every host also has it as
	// nginx:latest, nginx:1.0 and nginx:2.0.
	PodserverImage = "reconcile/podserver:latest"

	GitPath = "/srv/git/app.git" // on the first host

	// UpstreamDNS is the only nameserver in every host's resolv.conf: the
	// first host's address, where nothing answers port 53 unless a test
	// starts a resolver there. Tests may rewrite a host's /etc/resolv.conf
	// in place (it is a bind-mounted file).
	UpstreamDNS = "198.51.100.11"
)

// ImageTags are the names the podserver image has on every host.
var ImageTags = []string{PodserverImage, "nginx:latest", "nginx:1.0", "nginx:2.0"}

//go:embed host.sh
var hostScript []byte

// Config chooses a lab. The zero value is the default lab: "rcl", 3 hosts,
// state in BaseDir/rcl.
type Config struct {
	Name     string // at most 6 characters of [a-z0-9]; prefixes every device and namespace
	Hosts    int
	StateDir string
}

func (c Config) withDefaults() Config {
	if c.Name == "" {
		c.Name = DefaultName
	}
	if c.Hosts == 0 {
		c.Hosts = DefaultHosts
	}
	if c.StateDir == "" {
		c.StateDir = filepath.Join(BaseDir, c.Name)
	}
	return c
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9]{0,5}$`)

func (c Config) validate() error {
	if !nameRE.MatchString(c.Name) {
		// Interface names hold 15 bytes: "<name>-n89" must fit.
		return fmt.Errorf("lab name %q: want 1-6 characters of [a-z0-9], starting with a letter", c.Name)
	}
	if c.Hosts < 1 || c.Hosts > maxHosts {
		return fmt.Errorf("lab %s: %d hosts: want 1 to %d", c.Name, c.Hosts, maxHosts)
	}
	return nil
}

// Lab is a running lab, as Up returns it and Load reads it back.
type Lab struct {
	Name  string
	Hosts []Host
	Dir   string // state folder: keys, configs, logs, per-host data

	ClusterFile string // Cluster manifest (reconcile.dev/v1alpha1) for these hosts
	SSHConfig   string // for `ssh -F` / `reconcile -F`: Host node-N and its address
	KeyFile     string // private key authorized for root on every host
	KnownHosts  string // every host's key, under its name and its address

	GitURL     string // ssh://root@198.51.100.11/srv/git/app.git
	GitFileURL string // the same bare repository as file://, from the root namespace

	Bridge string // lab bridge in the root namespace

	// StartupTime is how long the Up that created the lab took.
	StartupTime time.Duration
	// Complete is set once Up finished: a lab whose Up was killed midway
	// (hosts running, images missing) is never taken as ready.
	Complete bool

	// Bookkeeping for Down: only what Up created is removed.
	ForwardRules [][]string // root namespace FORWARD rules, as iptables -A arguments
	Mountpoints  []string   // empty directories Up created on the machine for bind mounts
}

// Host is one lab host.
type Host struct {
	Name  string // node-N, also its hostname
	IP    string
	NetNS string // name under /run/netns
	Veth  string // its link's end on the bridge, in the root namespace

	// PID is the host's init (PID 1 inside its pid namespace), in the root
	// pid namespace. Killing it ends everything the host runs.
	PID int
	// PIDStart is PID's start time (clock ticks after boot), so a recycled
	// pid is never mistaken for the host.
	PIDStart uint64
}

func (l *Lab) host(name string) (*Host, error) {
	for i := range l.Hosts {
		if l.Hosts[i].Name == name {
			return &l.Hosts[i], nil
		}
	}
	return nil, fmt.Errorf("lab %s: no host %q (have %s)", l.Name, name, l.hostNames())
}

func (l *Lab) hostNames() string {
	s := ""
	for i, h := range l.Hosts {
		if i > 0 {
			s += ", "
		}
		s += h.Name
	}
	return s
}

func (l *Lab) hostDir(h string) string { return filepath.Join(l.Dir, "hosts", h) }
func stateFile(dir string) string      { return filepath.Join(dir, "lab.json") }

func (l *Lab) save() error {
	b, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	tmp := stateFile(l.Dir) + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, stateFile(l.Dir))
}

// Load reads the state of the lab called name (as labctl status and down
// need it). It does not check that the lab is still running; see Check.
func Load(name string) (*Lab, error) {
	return load(Config{Name: name}.withDefaults().StateDir)
}

func load(dir string) (*Lab, error) {
	b, err := os.ReadFile(stateFile(dir))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no lab state in %s: %w (start one with: go run ./integration/labctl up)", dir, err)
		}
		return nil, err
	}
	var l Lab
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("%s: %w", stateFile(dir), err)
	}
	return &l, nil
}

func hostName(i int) string { return "node-" + strconv.Itoa(i+1) }

func hostIP(i int) string {
	return netip.AddrFrom4([4]byte{198, 51, 100, byte(11 + i)}).String()
}
