package gitsource

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// lockDir takes an exclusive flock on <dir>/lock, waiting (and saying so)
// while another process or goroutine holds it. flock locks belong to the open
// file, so two goroutines of one process exclude each other too.
func lockDir(ctx context.Context, dir string, log io.Writer) (func(), error) {
	name := filepath.Join(dir, "lock")
	f, err := os.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("git: cache lock: %w", err)
	}
	said := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("git: lock %s: %w", name, err)
		}
		if !said {
			fmt.Fprintf(log, "git: waiting for %s (another fetch is using the cache)\n", name)
			said = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("git: waiting for %s: %w", name, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// writeTree writes every file of tree under dir. Submodules are not
// followed; symlinks are written as symlinks, like git does.
func writeTree(tree *object.Tree, dir string) error {
	return tree.Files().ForEach(func(f *object.File) error {
		dst := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		switch f.Mode {
		case filemode.Symlink:
			target, err := f.Contents()
			if err != nil {
				return fmt.Errorf("%s: %w", f.Name, err)
			}
			return os.Symlink(target, dst)
		case filemode.Regular, filemode.Deprecated, filemode.Executable:
		default:
			return nil
		}
		perm := os.FileMode(0o644)
		if f.Mode == filemode.Executable {
			perm = 0o755
		}
		r, err := f.Reader()
		if err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
		defer r.Close()
		out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, r); err != nil {
			out.Close()
			return fmt.Errorf("%s: %w", f.Name, err)
		}
		return out.Close()
	})
}

// prune removes all but the keepCheckouts most recently used checkouts, and
// temporary folders a crashed Fetch left behind (we hold the lock, so no
// Fetch is writing one now).
func (f *fetcher) prune(current string) {
	entries, err := os.ReadDir(f.checkoutsDir())
	if err != nil {
		return
	}
	type co struct {
		name string
		used time.Time
	}
	var cos []co
	for _, e := range entries {
		p := filepath.Join(f.checkoutsDir(), e.Name())
		if strings.HasPrefix(e.Name(), ".tmp-") {
			os.RemoveAll(p)
			continue
		}
		if e.Name() == current {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		cos = append(cos, co{e.Name(), info.ModTime()})
	}
	sort.Slice(cos, func(i, j int) bool { return cos[i].used.After(cos[j].used) })
	for i, c := range cos {
		if i >= keepCheckouts-1 {
			os.RemoveAll(filepath.Join(f.checkoutsDir(), c.name))
		}
	}
}

// isRemoteError tells failures of the remote or the network apart from a
// damaged local clone; only the latter is fixed by cloning again.
func isRemoteError(err error) bool {
	var he *HostKeyError
	var ne net.Error
	var ke *keepError
	for _, target := range []error{
		transport.ErrRepositoryNotFound,
		transport.ErrEmptyRemoteRepository,
		transport.ErrAuthenticationRequired,
		transport.ErrAuthorizationFailed,
		context.Canceled,
		context.DeadlineExceeded,
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	return errors.As(err, &he) || errors.As(err, &ne) || errors.As(err, &ke) ||
		strings.Contains(err.Error(), "ssh: ")
}

// remoteError turns a transport failure into a message a user can act on.
func (f *fetcher) remoteError(err error) error {
	var he *HostKeyError
	if errors.As(err, &he) {
		return keep(he)
	}
	switch {
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return keep(fmt.Errorf("git: cannot reach %s: %w", f.url, transport.ErrRepositoryNotFound))
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		return keep(fmt.Errorf("git: %s is empty; push a commit first: %w", f.url, err))
	case errors.Is(err, transport.ErrAuthenticationRequired):
		return keep(fmt.Errorf("git: cannot reach %s: %w%s; set %s, or %s and %s",
			f.url, transport.ErrAuthenticationRequired, serverSaid(err, transport.ErrAuthenticationRequired), TokenEnv, UsernameEnv, PasswordEnv))
	case errors.Is(err, transport.ErrAuthorizationFailed):
		return keep(fmt.Errorf("git: cannot reach %s: %w%s; check the credentials in %s or %s/%s",
			f.url, transport.ErrAuthorizationFailed, serverSaid(err, transport.ErrAuthorizationFailed), TokenEnv, UsernameEnv, PasswordEnv))
	case strings.Contains(err.Error(), "unable to authenticate"):
		if a, ok := f.auth.(*sshAuth); ok {
			return keep(fmt.Errorf("git: cannot reach %s: ssh login as %q with %s was refused; check that the public key is in the server's authorized_keys: %w", f.url, a.user, a.tried, err))
		}
	}
	return keep(fmt.Errorf("git: cannot reach %s: %w", f.url, err))
}

// serverSaid extracts the response body go-git appends to an HTTP auth
// error, as " (server said: ...)" on one line, or "" when there is none.
func serverSaid(err, sentinel error) string {
	reason := strings.TrimPrefix(err.Error(), sentinel.Error())
	reason = strings.Join(strings.Fields(strings.TrimPrefix(reason, ":")), " ")
	if reason == "" {
		return ""
	}
	if len(reason) > 200 {
		reason = reason[:200] + "..."
	}
	return " (server said: " + reason + ")"
}
