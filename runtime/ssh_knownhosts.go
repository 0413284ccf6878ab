package runtime

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// knownHosts checks host keys against known_hosts files. There is no
// "accept new keys" mode: an unknown or changed key ends the dial with a
// message that says how to fix it.
type knownHosts struct {
	files []string // as configured, for messages
	cb    ssh.HostKeyCallback
}

func loadKnownHosts(e endpoint) (*knownHosts, error) {
	kh := &knownHosts{files: e.knownHosts}
	var existing []string
	for _, f := range e.knownHosts {
		if _, err := os.Stat(f); err == nil {
			existing = append(existing, f)
		}
	}
	if len(existing) == 0 {
		return kh, nil
	}
	cb, err := knownhosts.New(existing...)
	if err != nil {
		return nil, fmt.Errorf("%s: read known hosts: %w", e.name, err)
	}
	kh.cb = cb
	return kh, nil
}

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

// algorithms returns the host key algorithms to ask the server for: those
// of the keys known_hosts holds for the host. Without this the server may
// offer, say, its RSA key first while the file only has its ed25519 key, and
// the check fails as a mismatch though nothing changed. Nil means the host
// is unknown and the library default is fine: the dial will be refused.
func (k *knownHosts) algorithms(addr string, remote net.Addr) []string {
	if k.cb == nil {
		return nil
	}
	var ke *knownhosts.KeyError
	if err := k.cb(addr, remote, probeKey); !errors.As(err, &ke) {
		return nil
	}
	var algos []string
	seen := map[string]bool{}
	for _, w := range ke.Want {
		for _, a := range algorithmsForKeyType(w.Key.Type()) {
			if !seen[a] {
				seen[a] = true
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
		e.name, e.addr(), strings.Join(k.files, " "), strings.Join(algos, ", "), k.removeCommand(e, k.files[0]))
}

func (k *knownHosts) removeCommand(e endpoint, file string) string {
	entry := knownhosts.Normalize(e.addr())
	if strings.HasPrefix(entry, "[") {
		entry = "'" + entry + "'"
	}
	return "ssh-keygen -R " + entry + " -f " + file
}

func (k *knownHosts) check(e endpoint, hostname string, remote net.Addr, key ssh.PublicKey) error {
	files := strings.Join(k.files, " ")
	offered := key.Type() + " " + ssh.FingerprintSHA256(key)
	var err error
	if k.cb != nil {
		err = k.cb(hostname, remote, key)
	} else {
		err = &knownhosts.KeyError{}
	}
	if err == nil {
		return nil
	}
	var ke *knownhosts.KeyError
	var re *knownhosts.RevokedError
	switch {
	case errors.As(err, &ke) && len(ke.Want) == 0:
		scan := "ssh-keyscan -H " + e.hostname
		if e.port != "22" {
			scan = "ssh-keyscan -H -p " + e.port + " " + e.hostname
		}
		return fmt.Errorf("%s: host key for %s (%s) is not in %s: add it (%s >> %s) after checking it out of band",
			e.name, e.addr(), offered, files, scan, k.files[0])
	case errors.As(err, &ke):
		var where []string
		for _, w := range ke.Want {
			where = append(where, fmt.Sprintf("%s:%d", w.Filename, w.Line))
		}
		return fmt.Errorf("%s: host key for %s (%s) does not match %s: possible man-in-the-middle; if the host was reinstalled, remove the old entry with %s",
			e.name, e.addr(), offered, strings.Join(where, ", "), k.removeCommand(e, ke.Want[0].Filename))
	case errors.As(err, &re):
		return fmt.Errorf("%s: host key for %s (%s) is revoked in %s:%d: refusing to connect",
			e.name, e.addr(), offered, re.Revoked.Filename, re.Revoked.Line)
	default:
		return fmt.Errorf("%s: check host key for %s: %w", e.name, e.addr(), err)
	}
}
