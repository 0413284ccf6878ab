package runtime

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strings"

	"github.com/reconcile-dev/reconcile/runtime/sshkeys"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// credentials are the keys Dial offers, and a record of where they came
// from so an authentication failure can say what was tried.
type credentials struct {
	signers []ssh.Signer
	tried   []string
	agent   net.Conn
}

func (c *credentials) close() {
	if c.agent != nil {
		c.agent.Close()
	}
}

// loadCredentials gathers keys the way ssh does: the key files, then the
// agent's keys (with IdentitiesOnly, only those of the key files). Key files the user named must load; default ones that are
// missing are skipped quietly.
func loadCredentials(e endpoint, useAgent bool) (*credentials, error) {
	c := &credentials{}
	seen := map[string]bool{}
	// sshd counts every key offered against MaxAuthTries, so a key that is
	// both a file and in the agent is offered once.
	add := func(s ssh.Signer) {
		fp := ssh.FingerprintSHA256(s.PublicKey())
		if !seen[fp] {
			seen[fp] = true
			c.signers = append(c.signers, s)
		}
	}

	// identities are the public keys of the key files, which IdentitiesOnly
	// lets the agent sign for.
	identities := map[string]bool{}
	for _, path := range e.keyFiles {
		s, err := sshkeys.LoadSigner(path)
		var locked *sshkeys.PassphraseError
		var unread *fs.PathError
		switch {
		case !e.keysGiven && errors.Is(err, fs.ErrNotExist):
			continue
		case errors.As(err, &locked):
			// Such a key can still work through the agent, below; like ssh,
			// its .pub says which of the agent's keys it is.
			if pub, err := readPublicKey(path + ".pub"); err == nil {
				identities[ssh.FingerprintSHA256(pub)] = true
			}
			c.tried = append(c.tried, path+" (passphrase-protected: add it to ssh-agent)")
			continue
		case errors.As(err, &unread):
			return nil, fmt.Errorf("%s: read ssh key: %w", e.name, err)
		case err != nil:
			return nil, fmt.Errorf("%s: %w", e.name, err)
		}
		identities[ssh.FingerprintSHA256(s.PublicKey())] = true
		add(s)
		c.tried = append(c.tried, path)
	}

	if sock := os.Getenv("SSH_AUTH_SOCK"); useAgent && sock != "" {
		conn, err := net.Dial("unix", sock)
		if err != nil {
			c.tried = append(c.tried, fmt.Sprintf("agent %s (unreachable: %v)", sock, err))
		} else {
			c.agent = conn
			signers, err := agent.NewClient(conn).Signers()
			if err != nil {
				c.close()
				return nil, fmt.Errorf("%s: list keys of ssh-agent %s: %w", e.name, sock, err)
			}
			offered := 0
			for _, s := range signers {
				if e.identitiesOnly && !identities[ssh.FingerprintSHA256(s.PublicKey())] {
					continue
				}
				offered++
				add(s)
			}
			keys := "keys"
			if len(signers) == 1 {
				keys = "key"
			}
			if e.identitiesOnly {
				c.tried = append(c.tried, fmt.Sprintf("agent %s (%d of %d %s: IdentitiesOnly)", sock, offered, len(signers), keys))
			} else {
				c.tried = append(c.tried, fmt.Sprintf("agent %s (%d %s)", sock, len(signers), keys))
			}
		}
	}

	if len(c.signers) == 0 {
		c.close()
		what := "none found"
		if len(c.tried) > 0 {
			what = strings.Join(c.tried, ", ")
		}
		return nil, fmt.Errorf("%s: no usable ssh key (%s): pass --ssh-key, set IdentityFile in the ssh config, or load a key into ssh-agent", e.name, what)
	}
	return c, nil
}

// readPublicKey reads a key.pub file as ssh-keygen writes it.
func readPublicKey(path string) (ssh.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(b)
	return pub, err
}

func (c *credentials) authError(e endpoint, err error) error {
	return fmt.Errorf("%s: ssh %s@%s: authentication failed, tried %s: add one of these keys to ~%s/.ssh/authorized_keys on the host, or pass the right --ssh-key or user: %w",
		e.name, e.user, e.addr(), strings.Join(c.tried, ", "), e.user, err)
}
