// Package sshkeys is the client side of SSH trust that the Docker hosts
// (package runtime) and git over SSH (package gitsource) share: which host
// keys known_hosts vouches for, which host key algorithms to ask a server
// for, and loading private keys. It formats no message for users; callers
// know their flags and say what to do in their own words.
package sshkeys

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"

	skknownhosts "github.com/skeema/knownhosts"
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
//
// The files are read by github.com/skeema/knownhosts, a maintained wrapper
// of x/crypto's reader (go-git uses it too) that also answers which key
// types a file lists for a host, knows @cert-authority lines and matches
// wildcard patterns on other ports as OpenSSH does.
type KnownHosts struct {
	files []string
	db    *skknownhosts.HostKeyDB // nil when none of the files exists
	cb    ssh.HostKeyCallback     // db's
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
	db, err := skknownhosts.NewDB(k.files...)
	if err != nil {
		return nil, err
	}
	k.db, k.cb = db, db.HostKeyCallback()
	return k, nil
}

// Files are the files that were read.
func (k *KnownHosts) Files() []string { return slices.Clone(k.files) }

// anyRemote stands in for the server's address where the caller has none:
// knownhosts looks at it only when the host name is empty.
var anyRemote = &net.TCPAddr{IP: net.IPv4zero, Port: 22}

// Algorithms returns the host key algorithms to ask hostport's server for:
// those of the keys known_hosts holds for it, in file order, RSA keys with
// SHA-2 signatures first and ssh-rsa (SHA-1) last, the certificate
// algorithms for a @cert-authority line. Without this the server may
// offer, say, its ecdsa key first while the file only has its ed25519
// key, and the check fails as a mismatch though nothing changed. Nil means
// the host is unknown and the library default is fine: the check will
// refuse it. remote, which may be nil, is looked up when hostport is
// empty.
func (k *KnownHosts) Algorithms(hostport string, remote net.Addr) []string {
	if k.db == nil {
		return nil
	}
	if hostport == "" && remote != nil {
		hostport = remote.String()
	}
	return k.db.HostKeyAlgorithms(hostport)
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
