package gitsource

import (
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/reconcile-dev/reconcile/resources"
)

// A commit's tree is handed to resources.LoadFS straight from the git
// objects when that reads exactly what a checkout would: no file is
// created (at thousands of manifests, creating the files of a new
// commit's checkout is most of a one-Service change), and a cached
// checkout need not be hashed again to be trusted.
//
// Only a plain tree qualifies: below the loaded path, outside hidden
// directories, no symbolic link (whose resolution inside or outside the
// tree is the disk loader's to judge), no kustomization (kustomize reads
// the checkout, bounded by its work tree), no manifest over
// resources.MaxFileBytes, and no more manifests or bytes than the
// loader's limits. Anything else is checked out on disk as before and
// read by resources.LoadTree, so every refusal and its message stays
// the disk loader's. The tree is read whole while the cache lock is
// held: nothing is read from the cache after Fetch returns.

// memTree is an fs.FS of the directories and manifest files of a tree.
type memTree map[string]*memNode

type memNode struct {
	name    string
	dir     bool
	data    []byte        // a file's content
	entries []fs.DirEntry // a directory's, sorted by name
}

// buildMemTree reads tree (the commit's tree at the loaded path) into
// memory, or returns ok false when it does not qualify (above).
func buildMemTree(repo *git.Repository, tree *object.Tree) (memTree, bool, error) {
	m := memTree{".": {name: ".", dir: true}}
	b := &memBuilder{repo: repo, m: m}
	ok, err := b.dir(tree, ".")
	if err != nil || !ok {
		return nil, false, err
	}
	return m, true, nil
}

type memBuilder struct {
	repo         *git.Repository
	m            memTree
	files, bytes int
}

func (b *memBuilder) dir(tree *object.Tree, at string) (bool, error) {
	d := b.m[at]
	seen := make(map[string]bool, len(tree.Entries))
	for _, e := range tree.Entries {
		// Names git's fsck refuses, twice-used names: the disk checkout
		// refuses the commit with its message.
		if validEntryName(e.Name) != "" || seen[e.Name] {
			return false, nil
		}
		seen[e.Name] = true
		p := path.Join(at, e.Name)
		switch e.Mode {
		case filemode.Dir:
			if strings.HasPrefix(e.Name, ".") {
				continue // the loader skips hidden directories unread
			}
			sub, err := b.repo.TreeObject(e.Hash)
			if err != nil {
				return false, err
			}
			n := &memNode{name: e.Name, dir: true}
			b.m[p] = n
			d.entries = append(d.entries, memEntry{n})
			if ok, err := b.dir(sub, p); !ok || err != nil {
				return false, err
			}
		case filemode.Symlink:
			return false, nil
		case filemode.Regular, filemode.Deprecated, filemode.Executable:
			if resources.IsKustomizationFile(e.Name) {
				return false, nil
			}
			if !resources.TreeReads(e.Name) {
				continue // never read by the loader
			}
			blob, err := b.repo.BlobObject(e.Hash)
			if err != nil {
				return false, err
			}
			b.files++
			b.bytes += int(min(blob.Size, resources.MaxFileBytes+1))
			if blob.Size > resources.MaxFileBytes || b.files > resources.MaxFiles || b.bytes > resources.MaxTotalBytes {
				return false, nil
			}
			data, err := readBlob(blob)
			if err != nil {
				return false, err
			}
			n := &memNode{name: e.Name, data: data}
			b.m[p] = n
			d.entries = append(d.entries, memEntry{n})
		}
		// Submodules are skipped, as the checkout skips them.
	}
	sort.Slice(d.entries, func(i, j int) bool { return d.entries[i].Name() < d.entries[j].Name() })
	return true, nil
}

func readBlob(blob *object.Blob) ([]byte, error) {
	r, err := blob.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, resources.MaxFileBytes+1))
	if err == nil && int64(len(data)) != blob.Size {
		err = io.ErrUnexpectedEOF
	}
	return data, err
}

func (m memTree) lookup(op, name string) (*memNode, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	n := m[name]
	if n == nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	}
	return n, nil
}

// Open implements fs.FS.
func (m memTree) Open(name string) (fs.File, error) {
	n, err := m.lookup("open", name)
	if err != nil {
		return nil, err
	}
	return &memFile{n: n}, nil
}

// ReadDir implements fs.ReadDirFS.
func (m memTree) ReadDir(name string) ([]fs.DirEntry, error) {
	n, err := m.lookup("readdir", name)
	if err != nil {
		return nil, err
	}
	if !n.isDir() {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrInvalid}
	}
	return append([]fs.DirEntry(nil), n.entries...), nil
}

// ReadFile implements fs.ReadFileFS.
func (m memTree) ReadFile(name string) ([]byte, error) {
	n, err := m.lookup("read", name)
	if err != nil {
		return nil, err
	}
	if n.isDir() {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fs.ErrInvalid}
	}
	return append([]byte(nil), n.data...), nil
}

// Stat implements fs.StatFS.
func (m memTree) Stat(name string) (fs.FileInfo, error) {
	n, err := m.lookup("stat", name)
	if err != nil {
		return nil, err
	}
	return memInfo{n}, nil
}

func (n *memNode) isDir() bool { return n.dir }

type memInfo struct{ n *memNode }

func (i memInfo) Name() string { return i.n.name }
func (i memInfo) Size() int64  { return int64(len(i.n.data)) }
func (i memInfo) Mode() fs.FileMode {
	if i.n.isDir() {
		return fs.ModeDir | 0o755
	}
	return 0o644
}
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return i.n.isDir() }
func (i memInfo) Sys() any           { return nil }

type memEntry struct{ n *memNode }

func (e memEntry) Name() string               { return e.n.name }
func (e memEntry) IsDir() bool                { return e.n.isDir() }
func (e memEntry) Type() fs.FileMode          { return memInfo(e).Mode().Type() }
func (e memEntry) Info() (fs.FileInfo, error) { return memInfo(e), nil }

type memFile struct {
	n   *memNode
	off int
	dir int // entries already returned by ReadDir
}

func (f *memFile) Stat() (fs.FileInfo, error) { return memInfo{f.n}, nil }
func (f *memFile) Close() error               { return nil }
func (f *memFile) Read(p []byte) (int, error) {
	if f.n.isDir() {
		return 0, &fs.PathError{Op: "read", Path: f.n.name, Err: fs.ErrInvalid}
	}
	if f.off >= len(f.n.data) {
		return 0, io.EOF
	}
	k := copy(p, f.n.data[f.off:])
	f.off += k
	return k, nil
}

// ReadDir implements fs.ReadDirFile.
func (f *memFile) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := f.n.entries[f.dir:]
	if n > 0 && len(rest) == 0 {
		return nil, io.EOF
	}
	if n > 0 && n < len(rest) {
		rest = rest[:n]
	}
	f.dir += len(rest)
	return append([]fs.DirEntry(nil), rest...), nil
}

// checkTree refuses what writeTree refuses, anywhere in the commit's
// tree, without writing anything: a commit read from memory is refused
// exactly when its checkout would be.
func checkTree(repo *git.Repository, tree *object.Tree, at string) error {
	seen := make(map[string]bool, len(tree.Entries))
	for _, e := range tree.Entries {
		name := path.Join(at, e.Name)
		if err := checkEntryName(seen, at, e.Name); err != nil {
			return err
		}
		switch e.Mode {
		case filemode.Dir:
			sub, err := repo.TreeObject(e.Hash)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if err := checkTree(repo, sub, name); err != nil {
				return err
			}
		case filemode.Symlink:
			if _, err := symlinkTarget(repo, e.Hash, name); err != nil {
				return err
			}
		}
	}
	return nil
}
