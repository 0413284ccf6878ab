package runtime

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/reconcile-dev/reconcile/runtime/sshkeys"
	"golang.org/x/crypto/ssh"
)

// knownHosts checks host keys against the known_hosts files of an endpoint
// and words the refusals for it.
type knownHosts struct {
	// files are the user's files as configured, else the global ones: the
	// files messages name and tell to fix.
	files []string
	db    *sshkeys.KnownHosts
}

func loadKnownHosts(e endpoint) (*knownHosts, error) {
	db, err := sshkeys.LoadKnownHosts(slices.Concat(e.knownHosts, e.globalKnownHosts))
	if err != nil {
		return nil, fmt.Errorf("%s: read known hosts: %w", e.name, err)
	}
	files := e.knownHosts
	if len(files) == 0 {
		files = e.globalKnownHosts
	}
	return &knownHosts{files: files, db: db}, nil
}

// algorithms are the host key algorithms to ask the server for; see
// sshkeys.KnownHosts.Algorithms.
func (k *knownHosts) algorithms(addr string, remote net.Addr) []string {
	return k.db.Algorithms(addr, remote)
}

// callback checks the key a server presents for e and records the error in
// *refused, because the handshake error that wraps it adds nothing a user
// needs.
func (k *knownHosts) callback(e endpoint, refused *error) ssh.HostKeyCallback {
	return func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := k.check(e, hostname, remote, key)
		*refused = err
		return err
	}
}

// noKnownType is the refusal when the server has none of the key types
// known_hosts lists for it: as much a changed key as a different key of the
// same type.
func (k *knownHosts) noKnownType(e endpoint, algos []string) error {
	return fmt.Errorf("%s: host key for %s does not match %s: the server has no key of type %s: possible man-in-the-middle; if the host was reinstalled, remove the old entry with %s",
		e.name, e.addr(), strings.Join(k.files, " "), strings.Join(algos, ", "), sshkeys.RemoveCommand(e.addr(), k.files[0]))
}

func (k *knownHosts) check(e endpoint, hostname string, remote net.Addr, key ssh.PublicKey) error {
	err := k.db.Check(hostname, remote, key)
	var p *sshkeys.KeyProblem
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &p):
		return fmt.Errorf("%s: check host key for %s: %w", e.name, e.addr(), err)
	case p.Kind == sshkeys.Unknown:
		return fmt.Errorf("%s: host key for %s (%s) is not in %s: add it (%s >> %s) after checking it out of band",
			e.name, e.addr(), p.Fingerprint, strings.Join(k.files, " "), sshkeys.KeyscanCommand(e.addr(), true), k.files[0])
	case p.Kind == sshkeys.Mismatch:
		where := make([]string, len(p.Entries))
		for i, w := range p.Entries {
			where[i] = w.String()
		}
		return fmt.Errorf("%s: host key for %s (%s) does not match %s: possible man-in-the-middle; if the host was reinstalled, remove the old entry with %s",
			e.name, e.addr(), p.Fingerprint, strings.Join(where, ", "), sshkeys.RemoveCommand(e.addr(), p.Entries[0].File))
	default:
		return fmt.Errorf("%s: host key for %s (%s) is revoked in %s: refusing to connect",
			e.name, e.addr(), p.Fingerprint, p.Entries[0])
	}
}
