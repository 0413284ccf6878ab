package net

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

func fileMode(f File) fs.FileMode {
	if f.Mode == 0 {
		return 0o644
	}
	return fs.FileMode(f.Mode).Perm()
}

// syncFile writes f only when its content or mode differ.
func syncFile(f File, dryRun bool) ([]Change, error) {
	if !filepath.IsAbs(f.Path) {
		return nil, fmt.Errorf("file %q: path must be absolute", f.Path)
	}
	mode := fileMode(f)
	cur, err := os.ReadFile(f.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if !dryRun {
			if err := writeFileAtomic(f.Path, f.Content, mode); err != nil {
				return nil, err
			}
		}
		return []Change{{Kind: KindFile, Action: ActionAdd, Target: f.Path, Detail: fmt.Sprintf("%d bytes", len(f.Content))}}, nil
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", f.Path, err)
	case !bytes.Equal(cur, f.Content):
		if !dryRun {
			if err := writeFileAtomic(f.Path, f.Content, mode); err != nil {
				return nil, err
			}
		}
		return []Change{{Kind: KindFile, Action: ActionUpdate, Target: f.Path, Detail: fmt.Sprintf("%d bytes, was %d", len(f.Content), len(cur))}}, nil
	}
	st, err := os.Stat(f.Path)
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", f.Path, err)
	}
	if st.Mode().Perm() == mode {
		return nil, nil
	}
	if !dryRun {
		if err := os.Chmod(f.Path, mode); err != nil {
			return nil, fmt.Errorf("chmod %s: %w", f.Path, err)
		}
	}
	return []Change{{Kind: KindFile, Action: ActionUpdate, Target: f.Path, Detail: fmt.Sprintf("mode %04o, was %04o", mode, st.Mode().Perm())}}, nil
}

// writeFileAtomic makes readers see either the old or the new content, and
// the new content survive a crash once this returns.
func writeFileAtomic(path string, content []byte, mode fs.FileMode) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(content); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("write %s: sync dir: %w", path, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("write %s: sync dir: %w", path, err)
	}
	return nil
}

// ReadFiles returns the contents of the files that exist; missing ones are
// absent from the map.
func ReadFiles(paths []string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		out[p] = b
	}
	return out, nil
}
