// Package atomicfile is the one way reconcile replaces a file: readers see
// the old content or the new, never a mix, and once Write returns the new
// content survives a crash (the file and its directory are both synced).
//
// It lives under internal/ rather than in net because the CLI (metrics,
// --endpoints-file) needs it too and must not depend on the node agent's
// package for it; net adds its confinement (no symlinks, owned directories
// only) on top by opening the directory itself and calling WriteAt.
package atomicfile

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Write replaces path with content and mode. The directory must exist.
// Errors do not repeat path: callers name the file in their own words.
func Write(path string, content []byte, mode fs.FileMode) error {
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer dir.Close()
	return WriteAt(dir, filepath.Base(path), content, mode)
}

// WriteAt replaces the entry name of the open directory dir. Working on the
// directory descriptor keeps whatever guarantee the caller got when it
// opened dir (no symlink on the way to it): the temporary file is created
// with O_EXCL|O_NOFOLLOW and renamed within that same directory, and a
// symlink at name is replaced, never followed.
func WriteAt(dir *os.File, name string, content []byte, mode fs.FileMode) (err error) {
	if name == "" || name == "." || name == ".." || filepath.Base(name) != name {
		return fmt.Errorf("bad file name %q", name)
	}
	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return err
	}
	tmp := "." + name + ".tmp-" + hex.EncodeToString(rnd[:])
	dfd := int(dir.Fd())
	fd, err := unix.Openat(dfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	f := os.NewFile(uintptr(fd), tmp)
	defer func() {
		if err != nil {
			f.Close()
			_ = unix.Unlinkat(dfd, tmp, 0)
		}
	}()
	if _, err := f.Write(content); err != nil {
		return err
	}
	// Chmod after create, so the mode does not depend on the umask.
	if err := f.Chmod(mode.Perm()); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := unix.Renameat(dfd, tmp, dfd, name); err != nil {
		return fmt.Errorf("rename into place: %w", err)
	}
	// The rename is durable only once the directory is.
	if err := dir.Sync(); err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	return nil
}
