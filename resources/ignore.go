package resources

import (
	"bufio"
	"bytes"
	"path"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
)

// IgnoreFile names the files that keep paths of a tree from being loaded,
// in gitignore syntax: one at the tree's root or in any directory below
// it, whose patterns apply to that directory's contents, as .gitignore
// does. It lets a repository keep non-manifest YAML (CI configs, Helm
// values, docs) next to its manifests.
const IgnoreFile = ".reconcileignore"

// ignorer decides which paths of a tree are skipped: the .reconcileignore
// patterns found while walking, then the --exclude patterns, which win
// (they are read as gitignore patterns of the tree's root).
type ignorer struct {
	file    []gitignore.Pattern // from IgnoreFile files, outermost first
	exclude []gitignore.Pattern // from --exclude
}

func newIgnorer(exclude []string) *ignorer {
	ig := &ignorer{}
	for _, p := range exclude {
		if strings.TrimSpace(p) != "" {
			ig.exclude = append(ig.exclude, gitignore.ParsePattern(p, nil))
		}
	}
	return ig
}

// addFile adds the patterns of the IgnoreFile of directory dir (slash
// separated, relative to the tree, "." for the root).
func (ig *ignorer) addFile(dir string, data []byte) {
	var domain []string
	if dir != "." {
		domain = strings.Split(dir, "/")
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		ig.file = append(ig.file, gitignore.ParsePattern(line, domain))
	}
}

// ignored reports whether rel (slash separated, relative to the tree) is
// skipped.
func (ig *ignorer) ignored(rel string, isDir bool) bool {
	if rel == "." || rel == "" {
		return false
	}
	segs := strings.Split(path.Clean(rel), "/")
	if len(ig.exclude) > 0 && gitignore.NewMatcher(ig.exclude).Match(segs, isDir) {
		return true
	}
	return len(ig.file) > 0 && gitignore.NewMatcher(ig.file).Match(segs, isDir)
}
