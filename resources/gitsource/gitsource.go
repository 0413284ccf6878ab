// Package gitsource fetches manifests from a git repository into a local
// cache and hands back a directory that resources.Load can read.
//
// Layout of the cache, one folder per repository URL:
//
//	<CacheDir>/<sha256(URL)[:16]>/
//	    lock          flock(2) held while a Fetch works on the folder
//	    url           the URL, for people looking at the cache
//	    repo.git/     bare clone, fetched into incrementally
//	    checkouts/<commit>/   the tree of one commit, written once, never changed
//
// Each commit gets its own checkout folder instead of one worktree that is
// reset in place: a Result.Dir handed to one process must not change under
// it because another process fetched a different ref from the same cache.
package gitsource

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// Options says which repository, ref and folder to fetch, and how.
type Options struct {
	URL            string    // file://, ssh://user@host[:port]/path, user@host:path (scp-like), https://
	Ref            string    // branch, tag or commit SHA; empty = the remote's default branch (HEAD)
	Path           string    // subdirectory inside the repo holding the manifests; "" = root
	CacheDir       string    // default: $RECONCILE_CACHE_DIR, else os.UserCacheDir()/reconcile/git
	SSHKeyFile     string    // optional private key; else ssh-agent
	KnownHostsFile string    // optional; else ~/.ssh/known_hosts
	Log            io.Writer // progress lines (may be nil)
}

// Result is what Fetch checked out.
type Result struct {
	Dir    string // absolute path of Options.Path inside the checked-out tree
	Root   string // absolute path of the checked-out tree (Dir is inside it)
	Commit string // full SHA checked out
	Ref    string // what Ref resolved as: "refs/heads/main", "refs/tags/v1", or the SHA
	// Files, from FetchTree, is the tree at Options.Path read from the git
	// objects (memtree.go), for resources.LoadFS; Dir and Root then name
	// where its checkout would be, and nothing is written there. Nil when
	// the tree was checked out on disk.
	Files fs.FS
}

// CacheDirEnv overrides the default cache folder.
const CacheDirEnv = "RECONCILE_CACHE_DIR"

// keepCheckouts is how many commit checkouts stay in a cache folder. More than
// one, so a Dir returned a moment ago survives a concurrent Fetch of another ref.
const keepCheckouts = 5

// Fetch makes the commit named by o.Ref available on disk and returns where.
// The first call for a URL clones into the cache; later calls fetch only what
// is new, and skip the fetch when the wanted commit is already cached.
func Fetch(ctx context.Context, o Options) (*Result, error) { return fetch(ctx, o, false) }

// FetchTree is Fetch that reads the commit's tree from memory when it
// can (Result.Files; see memtree.go), and checks it out on disk, as Fetch
// does, when it cannot.
func FetchTree(ctx context.Context, o Options) (*Result, error) { return fetch(ctx, o, true) }

func fetch(ctx context.Context, o Options, mem bool) (*Result, error) {
	if o.URL == "" {
		return nil, errors.New("git: no repository URL given")
	}
	sub, err := cleanSubdir(o.Path)
	if err != nil {
		return nil, err
	}
	f := &fetcher{o: o, url: redactURL(o.URL), log: o.Log, sub: sub, mem: mem}
	if f.log == nil {
		f.log = io.Discard
	}
	ep, err := transport.NewEndpoint(o.URL)
	if err != nil {
		return nil, fmt.Errorf("git: bad repository URL %q: %w", f.url, err)
	}
	auth, closeAuth, err := authFor(ep, o)
	if err != nil {
		return nil, err
	}
	defer closeAuth()
	f.ep, f.auth = ep, auth

	// Listing the remote first means a bad ref or URL fails before anything is
	// written to the cache, and gives HEAD's symbolic target. The session
	// stays open for the pack, if the cache turns out to lack the commit.
	sess, err := f.openSession(ctx)
	if err != nil {
		return nil, err
	}
	f.sess = sess
	defer f.endSession()
	want, err := resolveRef(o.Ref, sess.list(), f.url)
	if err != nil {
		return nil, err
	}

	root, err := cacheRoot(o.CacheDir, o.URL)
	if err != nil {
		return nil, err
	}
	unlock, waited, err := lockDir(ctx, root, f.log)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if waited {
		// The session sat idle while another fetch held the cache, which
		// a server may have timed out, and that fetch may well have
		// brought the commit: a pack still needed comes on a new session.
		f.endSession()
	}
	f.root = root
	if err := os.WriteFile(filepath.Join(root, "url"), []byte(f.url+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("git: cache %s: %w", root, err)
	}

	res, err := f.fetchAndCheckout(ctx, want)
	var kept *keepError
	if err != nil && !errors.As(err, &kept) && ctx.Err() == nil {
		// Anything that is neither the remote's fault nor the user's is taken
		// as a damaged cache: start over once from an empty folder.
		fmt.Fprintf(f.log, "git: cache %s looks damaged (%v); cloning again\n", root, err)
		if rmErr := f.wipe(); rmErr != nil {
			return nil, fmt.Errorf("git: remove damaged cache %s: %w (after: %v)", root, rmErr, err)
		}
		res, err = f.fetchAndCheckout(ctx, want)
	}
	if err != nil {
		if errors.As(err, &kept) {
			return nil, kept.err
		}
		return nil, err
	}
	fmt.Fprintf(f.log, "git: %s %s at %s\n", f.url, res.Ref, res.Commit)
	return res, nil
}

// keepError marks errors that a fresh clone would not fix (a bad ref, an
// unreachable remote, a missing path), so Fetch does not wipe the cache for them.
type keepError struct{ err error }

func (e *keepError) Error() string { return e.err.Error() }
func (e *keepError) Unwrap() error { return e.err }

func keep(err error) error { return &keepError{err} }

type fetcher struct {
	o    Options
	url  string // o.URL without any password, for messages
	sub  string // cleaned Options.Path, slash-separated, "" for root
	log  io.Writer
	ep   *transport.Endpoint
	auth transport.AuthMethod
	sess *session // open, and not yet asked for a pack; nil once it is (session.go)
	root string
	mem  bool // FetchTree: read the tree from memory when it qualifies
}

func (f *fetcher) repoDir() string      { return filepath.Join(f.root, "repo.git") }
func (f *fetcher) checkoutsDir() string { return filepath.Join(f.root, "checkouts") }

func (f *fetcher) wipe() error {
	if err := os.RemoveAll(f.repoDir()); err != nil {
		return err
	}
	return os.RemoveAll(f.checkoutsDir())
}

func (f *fetcher) fetchAndCheckout(ctx context.Context, want wanted) (*Result, error) {
	repo, err := f.openOrInit()
	if err != nil {
		return nil, err
	}
	commit, err := want.commit(repo)
	if err != nil {
		fmt.Fprintf(f.log, "git: fetching %s\n", f.url)
		if err := f.fetchPack(ctx, repo); err != nil {
			return nil, err
		}
		commit, err = want.commit(repo)
		if errors.Is(err, errNotCached) {
			return nil, keep(fmt.Errorf("git: commit %s of %s is missing after fetching %s; the ref moved during the fetch, try again", want.hash, want.name, f.url))
		}
		if err != nil {
			return nil, err
		}
	}
	tree, err := commit.Tree()
	if err != nil {
		return nil, fmt.Errorf("git: read tree of %s: %w", commit.Hash, err)
	}
	if f.sub != "" {
		entry, err := tree.FindEntry(f.sub)
		if err != nil {
			return nil, keep(fmt.Errorf("git: path %q not found at commit %s in %s", f.sub, commit.Hash, f.url))
		}
		if entry.Mode != 0o040000 {
			return nil, keep(fmt.Errorf("git: path %q at commit %s in %s is a file, not a directory", f.sub, commit.Hash, f.url))
		}
	}
	if f.mem {
		res, err := f.memory(commit, tree, want)
		if res != nil || err != nil {
			return res, err
		}
	}
	dir, err := f.checkout(repo, commit.Hash, tree)
	var te *treeError
	if errors.As(err, &te) {
		return nil, keep(fmt.Errorf("git: commit %s of %s: %w; reconcile refuses to check out this commit", commit.Hash, f.url, te))
	}
	if err != nil {
		return nil, err
	}
	f.prune(commit.Hash.String())
	return &Result{
		Dir:    filepath.Join(dir, filepath.FromSlash(f.sub)),
		Root:   dir,
		Commit: commit.Hash.String(),
		Ref:    want.resolvedAs(commit),
	}, nil
}

// memory returns the commit's tree at f.sub read into memory, or nil
// when it does not qualify (then it is checked out on disk).
func (f *fetcher) memory(commit *object.Commit, tree *object.Tree, want wanted) (*Result, error) {
	// Thousands of blobs read one after the other: through a storage that
	// keeps the pack files open, or go-git opens the pack again for each
	// (2,001 blobs: 50 ms -> 15 ms).
	st := filesystem.NewStorageWithOptions(osfs.New(f.repoDir()), cache.NewObjectLRUDefault(), filesystem.Options{KeepDescriptors: true})
	defer st.Close()
	repo, err := git.Open(st, nil)
	if err != nil {
		return nil, fmt.Errorf("git: open cache %s: %w", f.repoDir(), err)
	}
	if tree, err = repo.TreeObject(tree.Hash); err != nil {
		return nil, fmt.Errorf("git: read tree of %s: %w", commit.Hash, err)
	}
	var te *treeError
	if err := checkTree(repo, tree, ""); errors.As(err, &te) {
		return nil, keep(fmt.Errorf("git: commit %s of %s: %w; reconcile refuses to check out this commit", commit.Hash, f.url, te))
	} else if err != nil {
		return nil, err
	}
	sub := tree
	if f.sub != "" {
		var err error
		if sub, err = tree.Tree(f.sub); err != nil {
			return nil, fmt.Errorf("git: read tree %s of %s: %w", f.sub, commit.Hash, err)
		}
	}
	files, ok, err := buildMemTree(repo, sub)
	if err != nil {
		return nil, fmt.Errorf("git: read tree of %s: %w", commit.Hash, err)
	}
	if !ok {
		return nil, nil
	}
	dir := filepath.Join(f.checkoutsDir(), commit.Hash.String())
	return &Result{
		Dir:    filepath.Join(dir, filepath.FromSlash(f.sub)),
		Root:   dir,
		Commit: commit.Hash.String(),
		Ref:    want.resolvedAs(commit),
		Files:  files,
	}, nil
}

func (f *fetcher) openOrInit() (*git.Repository, error) {
	dir := f.repoDir()
	repo, err := git.PlainOpen(dir)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		fmt.Fprintf(f.log, "git: cloning %s into %s\n", f.url, dir)
		if err := os.RemoveAll(dir); err != nil {
			return nil, fmt.Errorf("git: cache %s: %w", dir, err)
		}
		repo, err = git.PlainInit(dir, true)
	}
	if err != nil {
		return nil, fmt.Errorf("git: open cache %s: %w", dir, err)
	}
	rc := &config.RemoteConfig{
		Name:  "origin",
		URLs:  []string{f.o.URL},
		Fetch: fetchSpecs,
	}
	rem, err := repo.Remote("origin")
	switch {
	case errors.Is(err, git.ErrRemoteNotFound):
		if _, err := repo.CreateRemote(rc); err != nil {
			return nil, fmt.Errorf("git: cache %s: add remote: %w", dir, err)
		}
	case err != nil:
		return nil, fmt.Errorf("git: cache %s: %w", dir, err)
	case len(rem.Config().URLs) != 1 || rem.Config().URLs[0] != f.o.URL:
		return nil, fmt.Errorf("git: cache %s belongs to another repository (%v)", dir, rem.Config().URLs)
	}
	return repo, nil
}

// checkout writes the commit's tree to checkouts/<commit> unless it is
// already there and verifies against the commit (a folder that merely
// exists may be half-written by another tool, or changed since). The
// folder appears by rename, so it is complete or absent.
func (f *fetcher) checkout(repo *git.Repository, hash plumbing.Hash, tree *object.Tree) (string, error) {
	final := filepath.Join(f.checkoutsDir(), hash.String())
	if fi, err := os.Lstat(final); err == nil {
		if fi.IsDir() && verifyTree(repo, tree, final) {
			now := time.Now()
			_ = os.Chtimes(final, now, now) // marks it recently used for prune
			return final, nil
		}
		fmt.Fprintf(f.log, "git: cached checkout %s differs from commit %s; checking it out again\n", final, hash)
		if err := os.RemoveAll(final); err != nil {
			return "", fmt.Errorf("git: remove changed checkout %s: %w", final, err)
		}
	}
	if err := os.MkdirAll(f.checkoutsDir(), 0o700); err != nil {
		return "", fmt.Errorf("git: cache %s: %w", f.checkoutsDir(), err)
	}
	tmp, err := os.MkdirTemp(f.checkoutsDir(), ".tmp-"+hash.String()+"-")
	if err != nil {
		return "", fmt.Errorf("git: cache %s: %w", f.checkoutsDir(), err)
	}
	defer os.RemoveAll(tmp)
	if err := writeTree(repo, tree, tmp, ""); err != nil {
		var te *treeError
		if errors.As(err, &te) {
			return "", te
		}
		return "", fmt.Errorf("git: check out %s: %w", hash, err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", fmt.Errorf("git: check out %s: %w", hash, err)
	}
	return final, nil
}

// cleanSubdir turns Options.Path into a slash-separated path inside the
// repository, refusing anything that would point outside it.
func cleanSubdir(p string) (string, error) {
	s := path.Clean(filepath.ToSlash(p))
	switch {
	case p == "" || s == ".":
		return "", nil
	case path.IsAbs(s) || s == ".." || strings.HasPrefix(s, "../"):
		return "", fmt.Errorf("git: path %q must be a folder inside the repository, like deploy/prod", p)
	}
	return s, nil
}

// CacheBase is the cache folder for dir (--cache-dir; Options.CacheDir):
// dir, else $RECONCILE_CACHE_DIR, else the user cache dir's
// reconcile/git; absolute.
func CacheBase(dir string) (string, error) {
	if dir == "" {
		dir = os.Getenv(CacheDirEnv)
	}
	if dir == "" {
		uc, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("git: no cache folder: set %s: %w", CacheDirEnv, err)
		}
		dir = filepath.Join(uc, "reconcile", "git")
	}
	base, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("git: cache folder %s: %w", dir, err)
	}
	return base, nil
}

// cacheRoot returns (and creates) the cache folder for one URL.
func cacheRoot(dir, url string) (string, error) {
	base, err := CacheBase(dir)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(url))
	root := filepath.Join(base, hex.EncodeToString(sum[:])[:16])
	if err := os.MkdirAll(root, 0o700); err != nil {
		return "", fmt.Errorf("git: cache folder: %w", err)
	}
	return root, nil
}
