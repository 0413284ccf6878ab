package gitsource

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// lockDir takes an exclusive flock on <dir>/lock, waiting (and saying so)
// while another process or goroutine holds it; waited says whether it had
// to. flock locks belong to the open file, so two goroutines of one
// process exclude each other too.
func lockDir(ctx context.Context, dir string, log io.Writer) (unlock func(), waited bool, err error) {
	name := filepath.Join(dir, "lock")
	f, err := os.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("git: cache lock: %w", err)
	}
	said := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, false, fmt.Errorf("git: lock %s: %w", name, err)
		}
		if !said {
			fmt.Fprintf(log, "git: waiting for %s (another fetch is using the cache)\n", name)
			said = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, true, fmt.Errorf("git: waiting for %s: %w", name, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, said, nil
}

// maxSymlinkTarget bounds a symlink's target as the checkout writes it.
const maxSymlinkTarget = 4096

// treeError is a tree the checkout refuses: cloning again would not fix it.
type treeError struct {
	entry, msg string
}

func (e *treeError) Error() string { return fmt.Sprintf("tree entry %q: %s", e.entry, e.msg) }

// validEntryName checks one tree entry's name as git's own fsck does
// before a checkout: a name is one path element, so it may not be empty,
// "." or "..", hold '/', '\' or NUL, or be ".git" in any case (a .git
// folder in a checkout would be a repository of the attacker's making).
func validEntryName(name string) string {
	switch {
	case name == "":
		return "a name must not be empty"
	case name == "." || name == "..":
		return `a name must not be "." or ".."`
	case strings.ContainsAny(name, "/\\\x00"):
		return `a name must not contain '/', '\' or NUL`
	case strings.EqualFold(name, ".git"):
		return `a name must not be ".git"`
	}
	return ""
}

// checkEntryName refuses a tree entry's name that a checkout refuses (see
// validEntryName) or that appears twice in its tree; seen holds the
// names of the tree's entries so far. writeTree and checkTree share it,
// so a commit read from memory is refused exactly when its checkout is.
func checkEntryName(seen map[string]bool, at, name string) error {
	if msg := validEntryName(name); msg != "" {
		return &treeError{path.Join(at, strings.ReplaceAll(name, "\x00", `\0`)), msg}
	}
	if seen[name] {
		return &treeError{path.Join(at, name), "the name appears twice"}
	}
	seen[name] = true
	return nil
}

// writeTree writes the tree under dir, which must be a new, empty folder.
// It walks the tree itself, one entry name (one path element) at a time,
// creating each folder it writes into: with names that cannot hold '/' or
// "..", and every folder new (Mkdir fails on an existing name, symlink
// or not), nothing is ever written through a symlink or outside dir.
// Symlinks are written as symlinks, as git does, for resources.Load to
// judge (it refuses those that leave the tree). Submodules are skipped.
func writeTree(repo *git.Repository, tree *object.Tree, dir, at string) error {
	seen := make(map[string]bool, len(tree.Entries))
	for _, e := range tree.Entries {
		name := path.Join(at, e.Name)
		if err := checkEntryName(seen, at, e.Name); err != nil {
			return err
		}
		dst := filepath.Join(dir, e.Name)
		switch e.Mode {
		case filemode.Dir:
			sub, err := repo.TreeObject(e.Hash)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if err := os.Mkdir(dst, 0o755); err != nil {
				return err
			}
			if err := writeTree(repo, sub, dst, name); err != nil {
				return err
			}
		case filemode.Symlink:
			target, err := symlinkTarget(repo, e.Hash, name)
			if err != nil {
				return err
			}
			if err := os.Symlink(target, dst); err != nil {
				return err
			}
		case filemode.Regular, filemode.Deprecated, filemode.Executable:
			if err := writeBlob(repo, e, dst); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	return nil
}

func filePerm(m filemode.FileMode) os.FileMode {
	if m == filemode.Executable {
		return 0o755
	}
	return 0o644
}

func writeBlob(repo *git.Repository, e object.TreeEntry, dst string) error {
	b, err := repo.BlobObject(e.Hash)
	if err != nil {
		return err
	}
	r, err := b.Reader()
	if err != nil {
		return err
	}
	defer r.Close()
	// O_EXCL|O_NOFOLLOW: the name is new in a folder we just made.
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY|syscall.O_NOFOLLOW, filePerm(e.Mode))
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, r); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// symlinkTarget is the target of the symlink entry name, refused unless it
// is a path a checkout can write: the rule the checkout and the in-memory
// tree share.
func symlinkTarget(repo *git.Repository, h plumbing.Hash, name string) (string, error) {
	target, err := blobContent(repo, h, maxSymlinkTarget)
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	if target == "" || strings.IndexByte(target, 0) >= 0 {
		return "", &treeError{name, "a symlink target must be a non-empty path"}
	}
	return target, nil
}

func blobContent(repo *git.Repository, h plumbing.Hash, max int64) (string, error) {
	b, err := repo.BlobObject(h)
	if err != nil {
		return "", err
	}
	if b.Size > max {
		return "", fmt.Errorf("blob of %d bytes is too large (more than %d)", b.Size, max)
	}
	r, err := b.Reader()
	if err != nil {
		return "", err
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	return string(data), err
}

// verifyTree reports whether dir holds exactly what writeTree would write
// for tree: the same names, kinds and modes, symlinks with the same
// targets and files with the same git blob hash. A cached checkout is
// trusted only after this; anything else is checked out again.
func verifyTree(repo *git.Repository, tree *object.Tree, dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	want := 0
	for _, e := range tree.Entries {
		if e.Mode == filemode.Submodule {
			continue
		}
		want++
		if validEntryName(e.Name) != "" {
			return false
		}
		p := filepath.Join(dir, e.Name)
		fi, err := os.Lstat(p)
		if err != nil {
			return false
		}
		switch e.Mode {
		case filemode.Dir:
			sub, err := repo.TreeObject(e.Hash)
			if err != nil || !fi.IsDir() || !verifyTree(repo, sub, p) {
				return false
			}
		case filemode.Symlink:
			target, err := blobContent(repo, e.Hash, maxSymlinkTarget)
			got, lerr := os.Readlink(p)
			if err != nil || lerr != nil || fi.Mode()&os.ModeSymlink == 0 || got != target {
				return false
			}
		case filemode.Regular, filemode.Deprecated, filemode.Executable:
			if !fi.Mode().IsRegular() || fi.Mode().Perm() != filePerm(e.Mode) || !sameBlob(p, fi.Size(), e.Hash) {
				return false
			}
		default:
			want--
		}
	}
	return len(entries) == want
}

// sameBlob reports whether the file at p hashes to the git blob h.
func sameBlob(p string, size int64, h plumbing.Hash) bool {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	hasher := plumbing.NewHasher(plumbing.BlobObject, size)
	if n, err := io.Copy(hasher, f); err != nil || n != size {
		return false
	}
	return hasher.Sum() == h
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
	// A bare syscall.Errno has net.Error's methods too; one a file
	// operation wrapped (a full disk, a file where the cache wants a
	// folder) is the cache's problem, which a fresh clone may fix.
	var pe *fs.PathError
	var le *os.LinkError
	remoteNet := errors.As(err, &ne) && !errors.As(err, &pe) && !errors.As(err, &le)
	return errors.As(err, &he) || remoteNet || errors.As(err, &ke) ||
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
