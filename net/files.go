package net

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
)

func fileMode(f File) fs.FileMode {
	if f.Mode == 0 {
		return 0o644
	}
	return fs.FileMode(f.Mode).Perm()
}

// syncFile writes f only when its content or mode differ. f.Path must be
// below the directories reconcile owns and reached without symlinks.
func syncFile(f File, dryRun bool) ([]Change, error) {
	if err := checkOwnedPath(f.Path); err != nil {
		return nil, fmt.Errorf("file: %w", err)
	}
	mode := fileMode(f)
	cur, curMode, err := readOwnedFile(f.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if !dryRun {
			if err := writeOwnedFile(f.Path, f.Content, mode); err != nil {
				return nil, err
			}
		}
		return []Change{{Kind: KindFile, Action: ActionAdd, Target: f.Path, Detail: fmt.Sprintf("%d bytes", len(f.Content))}}, nil
	case err != nil:
		return nil, err
	case !bytes.Equal(cur, f.Content):
		if !dryRun {
			if err := writeOwnedFile(f.Path, f.Content, mode); err != nil {
				return nil, err
			}
		}
		return []Change{{Kind: KindFile, Action: ActionUpdate, Target: f.Path, Detail: fmt.Sprintf("%d bytes, was %d", len(f.Content), len(cur))}}, nil
	case curMode == mode:
		return nil, nil
	}
	// Rewriting rather than chmod by path: a chmod would follow a symlink
	// swapped in since the read.
	if !dryRun {
		if err := writeOwnedFile(f.Path, f.Content, mode); err != nil {
			return nil, err
		}
	}
	return []Change{{Kind: KindFile, Action: ActionUpdate, Target: f.Path, Detail: fmt.Sprintf("mode %04o, was %04o", mode, curMode)}}, nil
}

// ReadFiles returns the contents of the files that exist; missing ones are
// absent from the map. Each path must be below the directories reconcile
// owns and reached without symlinks (`node read` must not read /etc/shadow).
func ReadFiles(paths []string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(paths))
	for _, p := range paths {
		b, _, err := readOwnedFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[p] = b
	}
	return out, nil
}
