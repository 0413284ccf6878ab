package resources

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"sigs.k8s.io/kustomize/api/konfig"
)

// LoadFS is LoadTree for a tree in memory: a git commit's, read from its
// objects (gitsource.FetchTree) instead of a checkout. fsys holds
// directories and regular files only; a tree with symbolic links or a
// kustomization is loaded from its checkout with LoadTree, which judges
// them. dir names the tree in errors about the whole of it. Files are
// named, walked, ignored, bounded and decoded exactly as LoadTree does.
func LoadFS(fsys fs.FS, dir string, o TreeOptions) (*Set, error) {
	ig := newIgnorer(o.Exclude)
	var files []string
	err := fs.WalkDir(fsys, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			if p != "." && strings.HasPrefix(e.Name(), ".") || ig.ignored(p, true) {
				return fs.SkipDir
			}
			if data, msg := readFSManifest(fsys, path.Join(p, IgnoreFile)); msg == "" {
				ig.addFile(p, data)
			}
			return nil
		}
		if IsKustomizationFile(e.Name()) {
			return errKustomization
		}
		if e.Type()&fs.ModeSymlink != 0 {
			return errSymlink
		}
		if isManifest(e.Name()) && !ig.ignored(p, false) {
			if len(files) == MaxFiles {
				return errTooManyFiles
			}
			files = append(files, p)
		}
		return nil
	})
	switch {
	case errors.Is(err, errTooManyFiles):
		return nil, ErrorList{{File: dir, Message: fmt.Sprintf("holds more than %d manifest files: point --path at a smaller tree", MaxFiles)}}
	case err != nil:
		return nil, ErrorList{{File: dir, Message: "cannot read manifests: " + err.Error()}}
	}
	read := func(file string) ([]byte, string) { return readFSManifest(fsys, file) }
	return loadTree(read, dir, files, nil, "", o)
}

var (
	errKustomization = errors.New("a kustomization is loaded from a checkout, not from memory")
	errSymlink       = errors.New("a symbolic link is loaded from a checkout, not from memory")
)

// readFSManifest is readManifest for a tree in memory: only regular
// files, no more than MaxFileBytes, with readManifest's messages.
func readFSManifest(fsys fs.FS, file string) ([]byte, string) {
	f, err := fsys.Open(file)
	if err != nil {
		return nil, "cannot read: " + unwrapPathError(err)
	}
	defer f.Close()
	return readOpened(f)
}

// TreeReads reports whether the loader may read a file of this name
// outside a kustomization: a manifest or an IgnoreFile.
func TreeReads(name string) bool { return name == IgnoreFile || isManifest(name) }

// IsKustomizationFile reports whether name is one of a kustomization
// file's names (kustomization.yaml, .yml, Kustomization).
func IsKustomizationFile(name string) bool {
	return slices.Contains(konfig.RecognizedKustomizationFileNames(), name)
}
