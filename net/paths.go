package net

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/reconcile-dev/reconcile/internal/atomicfile"
)

// The directories reconcile owns on a host. The agent reads and writes
// files only below them, whatever path a request names: it runs as root,
// and a repository must not be able to point it at /etc (defence in depth
// behind the CLI's own validation).
const (
	StateDir = "/var/lib/reconcile"
	RunDir   = "/run/reconcile"
)

// ownedDirs is StateDir and RunDir; tests point it at temporary folders.
var ownedDirs = []string{StateDir, RunDir}

// maxReadSize caps one file the agent reads back (the endpoints file of a
// big cluster is a few MB).
const maxReadSize = 64 << 20

// checkOwnedPath refuses a path that is not absolute and clean or not
// below one of ownedDirs. It is lexical: symlinks are refused when the
// path is opened.
func checkOwnedPath(p string) error {
	if !filepath.IsAbs(p) {
		return fmt.Errorf("path %q must be absolute", p)
	}
	if filepath.Clean(p) != p || strings.Contains(p, "\x00") {
		return fmt.Errorf("path %q is not clean (no \"..\", \".\", \"//\" or trailing \"/\"); refused", p)
	}
	for _, d := range ownedDirs {
		if strings.HasPrefix(p, d+"/") {
			return nil
		}
	}
	return fmt.Errorf("path %s is outside the directories reconcile owns (%s); refused", p, strings.Join(ownedDirs, ", "))
}

// openOwnedDir opens the directory of p one component at a time from /,
// each with O_NOFOLLOW, so no symlink anywhere on the way is followed (a
// plain open would follow /var/lib/reconcile/x -> /etc). With create, the
// missing components are made. It works on every kernel, unlike openat2.
func openOwnedDir(p string, create bool) (*os.File, error) {
	if err := checkOwnedPath(p); err != nil {
		return nil, err
	}
	fd, err := unix.Open("/", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open /: %w", err)
	}
	walked := ""
	for _, comp := range strings.Split(strings.TrimPrefix(filepath.Dir(p), "/"), "/") {
		walked += "/" + comp
		next, err := unix.Openat(fd, comp, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.ENOENT) && create {
			if err = unix.Mkdirat(fd, comp, 0o755); err == nil || errors.Is(err, unix.EEXIST) {
				next, err = unix.Openat(fd, comp, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			}
		}
		unix.Close(fd)
		switch {
		case errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR):
			return nil, fmt.Errorf("%s: %s is a symlink or not a directory; reconcile never goes through a symlink: remove it", p, walked)
		case errors.Is(err, unix.ENOENT):
			return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
		case err != nil:
			return nil, fmt.Errorf("%s: open %s: %w", p, walked, err)
		}
		fd = next
	}
	return os.NewFile(uintptr(fd), filepath.Dir(p)), nil
}

// writeOwnedFile atomically replaces p, which must be below ownedDirs and
// reached without symlinks; missing directories are created.
func writeOwnedFile(p string, content []byte, mode fs.FileMode) error {
	dir, err := openOwnedDir(p, true)
	if err != nil {
		return fmt.Errorf("write %w", err)
	}
	defer dir.Close()
	if err := atomicfile.WriteAt(dir, filepath.Base(p), content, mode); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	return nil
}

// readOwnedFile reads p, which must be a regular file below ownedDirs
// reached without symlinks. A missing file is fs.ErrNotExist.
func readOwnedFile(p string) ([]byte, fs.FileMode, error) {
	dir, err := openOwnedDir(p, false)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, 0, err
		}
		return nil, 0, fmt.Errorf("read %w", err)
	}
	defer dir.Close()
	// O_NONBLOCK: a FIFO planted at p must not hang the agent.
	fd, err := unix.Openat(int(dir.Fd()), filepath.Base(p), unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	switch {
	case errors.Is(err, unix.ENOENT):
		return nil, 0, &fs.PathError{Op: "read", Path: p, Err: fs.ErrNotExist}
	case errors.Is(err, unix.ELOOP):
		return nil, 0, fmt.Errorf("read %s: is a symlink; reconcile never reads through a symlink: remove it", p)
	case err != nil:
		return nil, 0, fmt.Errorf("read %s: %w", p, err)
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", p, err)
	}
	if !st.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("read %s: not a regular file (%s); refused", p, st.Mode().Type())
	}
	// Sized from the stat, as os.ReadFile does: io.ReadAll grows its
	// buffer from 512 bytes, and for the 2 MB endpoints file the copies
	// and zeroing of that growth were a fifth of an apply's CPU. The limit
	// still holds if the file grows meanwhile.
	buf := bytes.NewBuffer(make([]byte, 0, min(st.Size(), maxReadSize)+bytes.MinRead))
	_, err = buf.ReadFrom(io.LimitReader(f, maxReadSize+1))
	b := buf.Bytes()
	if err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", p, err)
	}
	if len(b) > maxReadSize {
		return nil, 0, fmt.Errorf("read %s: larger than %d MiB; refused", p, maxReadSize>>20)
	}
	return b, st.Mode().Perm(), nil
}
