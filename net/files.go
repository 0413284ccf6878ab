package net

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
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
//
// A file whose content was withheld (f.withheld) is compared by digest; a
// write needs its content, so a caller that writes checks first with
// needContent.
func syncFile(f File, dryRun bool) ([]Change, error) {
	if err := checkOwnedPath(f.Path); err != nil {
		return nil, fmt.Errorf("file: %w", err)
	}
	mode := fileMode(f)
	write := func() error {
		if f.withheld() {
			return fmt.Errorf("file %s: its content was withheld, and it must be written", f.Path)
		}
		return writeOwnedFile(f.Path, f.Content, mode)
	}
	size := len(f.Content)
	if f.withheld() {
		size = f.Size
	}
	cur, curMode, err := readOwnedFile(f.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if !dryRun {
			if err := write(); err != nil {
				return nil, err
			}
		}
		return []Change{{Kind: KindFile, Action: ActionAdd, Target: f.Path, Detail: fmt.Sprintf("%d bytes", size)}}, nil
	case err != nil:
		return nil, err
	case !sameContent(f, cur):
		if !dryRun {
			if err := write(); err != nil {
				return nil, err
			}
		}
		return []Change{{Kind: KindFile, Action: ActionUpdate, Target: f.Path, Detail: fmt.Sprintf("%d bytes, was %d", size, len(cur))}}, nil
	case curMode == mode:
		return nil, nil
	}
	// Rewriting rather than chmod by path: a chmod would follow a symlink
	// swapped in since the read.
	if !dryRun {
		if err := write(); err != nil {
			return nil, err
		}
	}
	return []Change{{Kind: KindFile, Action: ActionUpdate, Target: f.Path, Detail: fmt.Sprintf("mode %04o, was %04o", mode, curMode)}}, nil
}

// sameContent says whether cur is f's content, by digest when f's content
// was withheld.
func sameContent(f File, cur []byte) bool {
	if f.withheld() {
		return f.Size == len(cur) && f.SHA256 == contentDigest(cur)
	}
	return bytes.Equal(cur, f.Content)
}

func contentDigest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// needContent returns the withheld files a write would have to change: a
// missing file, or one whose content differs (a mode alone is fixed by
// rewriting the same content, which needs it too).
func needContent(files []File) []string {
	var need []string
	for _, f := range files {
		if !f.withheld() {
			continue
		}
		cur, curMode, err := readOwnedFile(f.Path)
		if err != nil || !sameContent(f, cur) || curMode != fileMode(f) {
			need = append(need, f.Path)
		}
	}
	return need
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
