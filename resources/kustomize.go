package resources

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// A directory holding a kustomization file is rendered with kustomize's
// own library (sigs.k8s.io/kustomize/api, the one kubectl kustomize
// embeds), with kubectl's defaults: no plugins, files only from within
// the kustomization's directory, kustomize's order of kinds. Kustomize
// itself prints deprecation warnings on stderr, as kubectl kustomize does. The objects it
// renders are then decoded and validated like any other file's, and named
// after the kustomization file.
//
// Kustomize never touches the disk here: the directories the
// kustomizations reach are copied into memory first, read the way every
// manifest is (no symlink out of the tree, regular files only, the size
// limits of limits.go), so kustomize cannot read outside the repository.
// Remote bases (git URLs, http files) and Helm charts are refused before
// kustomize runs: a GitOps source must be pinned to what the repository
// holds, and reconcile assumes no network at apply time.

// kustomizationFile returns the name of the kustomization file of
// directory dir, or "" when it holds none.
func kustomizationFile(dir string) string {
	for _, name := range konfig.RecognizedKustomizationFileNames() {
		if fi, err := os.Lstat(filepath.Join(dir, name)); err == nil && fi.Mode().IsRegular() {
			return name
		}
	}
	return ""
}

// kustomizeInput is the part of a repository the kustomizations of one
// load may read, in memory.
type kustomizeInput struct {
	r        *reporter
	boundary string // the repository's directory on disk
	relDir   string // the loaded tree, relative to boundary
	fs       filesys.FileSystem
	copied   map[string]bool // directories (slash, relative to boundary) copied
	visited  map[string]bool // kustomization directories checked
	bytes    int
	files    int
}

// renderKustomizations renders each kustomization file of kusts (paths
// relative to dir) and decodes what it renders. boundary is the
// directory they may read below (empty: the git work tree holding dir, or
// dir). total counts the bytes read against MaxTotalBytes.
func renderKustomizations(r *reporter, dir string, kusts []string, boundary string, total *int) []any {
	if boundary == "" {
		boundary = workTree(dir)
	}
	absDir, err1 := filepath.Abs(dir)
	absBoundary, err2 := filepath.Abs(boundary)
	relDir, err3 := filepath.Rel(absBoundary, absDir)
	if err1 != nil || err2 != nil || err3 != nil || relDir == ".." || strings.HasPrefix(relDir, "../") {
		absBoundary, relDir = absDir, "."
	}
	in := &kustomizeInput{r: r, boundary: absBoundary, relDir: filepath.ToSlash(relDir), fs: newMemFS(), copied: map[string]bool{}, visited: map[string]bool{}}
	var objs []any
	for _, k := range kusts {
		kdir := path.Clean(path.Join(filepath.ToSlash(relDir), path.Dir(k)))
		before := r.n
		in.check(kdir, k)
		if r.n > before {
			continue
		}
		out, err := renderKustomization(in.fs, "/"+kdir)
		if err != nil {
			r.add(&FieldError{File: k, Message: "kustomize: " + err.Error()})
			continue
		}
		for _, doc := range out {
			if *total += len(doc); *total > MaxTotalBytes {
				r.add(&FieldError{File: k, Message: fmt.Sprintf("renders more than %d MiB with the tree's other manifests: reconcile stops reading here", MaxTotalBytes>>20)})
				return objs
			}
			objs = append(objs, decodeRendered(k, doc, r)...)
		}
	}
	return objs
}

func newMemFS() filesys.FileSystem { return filesys.MakeFsInMemory() }

// renderKustomization runs kustomize as kubectl kustomize does on the
// directory kdir of fs and returns each rendered object as YAML.
func renderKustomization(fs filesys.FileSystem, kdir string) (docs [][]byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("cannot render: %v", p)
		}
	}()
	opts := krusty.MakeDefaultOptions()
	// kubectl kustomize and kustomize build leave the order unspecified,
	// which sorts kinds as kustomize always has (legacy) unless the
	// kustomization's sortOptions say otherwise.
	opts.Reorder = krusty.ReorderOptionUnspecified
	m, err := krusty.MakeKustomizer(opts).Run(fs, kdir)
	if err != nil {
		return nil, err
	}
	for _, res := range m.Resources() {
		b, err := res.AsYAML()
		if err != nil {
			return nil, err
		}
		docs = append(docs, b)
	}
	return docs, nil
}

// workTree is the git work tree holding dir (the nearest directory up
// from it with a .git entry), or dir when there is none: an overlay given
// with -f may use a base elsewhere in its repository, as kubectl
// kustomize allows, but nothing outside that repository.
func workTree(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return dir
	}
	for d := abs; ; {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			return d
		}
		parent := filepath.Dir(d)
		if parent == d {
			return dir
		}
		d = parent
	}
}

// Fields of a kustomization that name a base: another kustomization's
// directory (or, for resources, a file), or a remote one.
var kustomizeBaseFields = []string{"resources", "bases", "components", "generators", "transformers", "validators"}

// check reads the kustomization file of directory kdir (relative to the
// boundary; file is how errors name it), refuses remote bases and
// Helm charts, copies the directory into memory and follows its local
// bases.
func (in *kustomizeInput) check(kdir, file string) {
	if in.visited[kdir] {
		return
	}
	in.visited[kdir] = true
	name := kustomizationFile(filepath.Join(in.boundary, filepath.FromSlash(kdir)))
	data, msg := readManifest(in.boundary, path.Join(kdir, name))
	if name == "" || msg != "" {
		in.r.add(&FieldError{File: file, Message: "cannot read the kustomization: " + msg})
		return
	}
	docs, err := splitDocuments(data)
	if err != nil {
		in.r.add(yamlError(file, err))
		return
	}
	if len(docs) != 1 || deref(docs[0].Content[0]).Kind != yaml.MappingNode {
		in.r.add(&FieldError{File: file, Message: "a kustomization file must hold one YAML object"})
		return
	}
	src := Source{File: file, Line: 1, doc: docs[0]}
	o := in.r.object(src, "Kustomization", "")
	root := deref(docs[0].Content[0])
	if !withinExpansion(docs[0]) {
		o.errorf("", "its YAML aliases expand to more than %d nodes", MaxDocumentNodes)
		return
	}
	for _, f := range []string{"helmCharts", "helmChartInflationGenerator", "helmGlobals"} {
		if valueAt(root, f) != nil {
			o.errorf(f, "not supported by reconcile: Helm charts are fetched and run by helm at build time; render the chart into the repository (helm template) and list the files under resources")
		}
	}
	in.copyDir(kdir)
	for _, f := range kustomizeBaseFields {
		list := valueAt(root, f)
		if list == nil || list.Kind != yaml.SequenceNode {
			continue
		}
		for i, e := range list.Content {
			e = deref(e)
			if e.Kind != yaml.ScalarNode || strings.Contains(e.Value, "\n") {
				continue // an inline generator or transformer config
			}
			in.checkBase(o, kdir, indexPath(f, i), e.Value)
		}
	}
	for _, p := range kustomizeFilePaths(root) {
		if isRemote(p.value) {
			o.errorf(p.field, "%s is a remote file: %s", quote(p.value), remoteRefused)
		}
	}
}

const remoteRefused = "reconcile renders only what the repository holds (a GitOps source is pinned by its commit, and no network is assumed at apply time); vendor it into the repository and refer to it by a relative path"

// checkBase checks one entry of a base field of the kustomization in
// kdir and follows it when it is a local kustomization directory.
func (in *kustomizeInput) checkBase(o obj, kdir, field, entry string) {
	if isRemote(entry) {
		o.errorf(field, "%s is a remote base: %s", quote(entry), remoteRefused)
		return
	}
	target := path.Clean(path.Join(kdir, entry))
	if path.IsAbs(entry) || target == ".." || strings.HasPrefix(target, "../") {
		o.errorf(field, "%s leaves the repository: a kustomization may use only directories inside it", quote(entry))
		return
	}
	p := filepath.Join(in.boundary, filepath.FromSlash(target))
	fi, err := os.Lstat(p)
	switch {
	case err != nil:
		o.errorf(field, "%s: no such file or directory in the repository", quote(entry))
	case fi.Mode()&os.ModeSymlink != 0:
		o.errorf(field, "%s is a symbolic link: reconcile follows no links in a kustomization's bases", quote(entry))
	case fi.IsDir():
		if kustomizationFile(p) == "" {
			o.errorf(field, "%s is a directory without a kustomization file", quote(entry))
			return
		}
		in.check(target, in.name(path.Join(target, kustomizationFile(p))))
	}
	// A file is read by kustomize from the copy of kdir, which holds it
	// when it lies below kdir (kustomize refuses any other).
}

// name is how errors name rel (relative to the boundary): relative to
// the loaded tree, as every other file is named.
func (in *kustomizeInput) name(rel string) string {
	n, err := filepath.Rel(filepath.FromSlash(in.relDir), filepath.FromSlash(rel))
	if err != nil {
		return rel
	}
	return filepath.ToSlash(n)
}

// isRemote reports whether a kustomization entry is a URL or a git
// repository rather than a relative path.
func isRemote(s string) bool {
	if key, file, ok := strings.Cut(s, "="); ok && !strings.Contains(key, "/") {
		s = file // a generator's key=path
	}
	return strings.Contains(s, "://") || strings.HasPrefix(s, "git@") ||
		strings.HasPrefix(s, "github.com/") || strings.HasPrefix(s, "gitlab.com/") || strings.HasPrefix(s, "bitbucket.org/") ||
		strings.Contains(s, "?ref=") || strings.Contains(s, ".git//")
}

type kustomizePath struct{ field, value string }

// kustomizeFilePaths lists the file names a kustomization gives outside
// its base fields: patch, generator source and configuration files.
func kustomizeFilePaths(root *yaml.Node) []kustomizePath {
	var out []kustomizePath
	scalars := func(field string, n *yaml.Node) {
		n = deref(n)
		switch {
		case n == nil:
		case n.Kind == yaml.ScalarNode:
			out = append(out, kustomizePath{field, n.Value})
		case n.Kind == yaml.SequenceNode:
			for i, e := range n.Content {
				if e = deref(e); e.Kind == yaml.ScalarNode && !strings.Contains(e.Value, "\n") {
					out = append(out, kustomizePath{indexPath(field, i), e.Value})
				}
			}
		}
	}
	for _, f := range []string{"crds", "configurations", "patchesStrategicMerge"} {
		scalars(f, valueAt(root, f))
	}
	scalars("openapi.path", valueAt(valueAt(root, "openapi"), "path"))
	for _, f := range []string{"patches", "patchesJson6902", "replacements"} {
		if list := valueAt(root, f); list != nil && list.Kind == yaml.SequenceNode {
			for i, e := range list.Content {
				scalars(fieldPath(indexPath(f, i), "path"), valueAt(deref(e), "path"))
			}
		}
	}
	for _, f := range []string{"configMapGenerator", "secretGenerator"} {
		if list := valueAt(root, f); list != nil && list.Kind == yaml.SequenceNode {
			for i, e := range list.Content {
				for _, k := range []string{"files", "envs", "env"} {
					scalars(fieldPath(indexPath(f, i), k), valueAt(deref(e), k))
				}
			}
		}
	}
	return out
}

// copyDir copies the files below directory dir of the repository into
// memory, as readManifest reads them, skipping hidden directories.
func (in *kustomizeInput) copyDir(dir string) {
	if in.copied[dir] {
		return
	}
	in.copied[dir] = true
	base := filepath.Join(in.boundary, filepath.FromSlash(dir))
	_ = filepath.WalkDir(base, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, err := filepath.Rel(in.boundary, p)
		if err != nil {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if e.IsDir() {
			if p != base && strings.HasPrefix(e.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if in.fs.Exists("/" + rel) {
			return nil
		}
		if e.Type()&os.ModeSymlink == 0 && !e.Type().IsRegular() {
			return nil // a device or FIFO is nothing kustomize reads
		}
		data, msg := readManifest(in.boundary, rel)
		if msg != "" {
			if e.Type()&os.ModeSymlink != 0 && strings.Contains(msg, "not a regular file") {
				return nil // a link to a directory: not followed
			}
			in.r.add(&FieldError{File: in.name(rel), Message: msg})
			return nil
		}
		if in.files++; in.files > MaxFiles {
			in.r.add(&FieldError{File: in.name(rel), Message: fmt.Sprintf("the kustomizations' directories hold more than %d files: reconcile stops reading here", MaxFiles)})
			return filepath.SkipAll
		}
		if in.bytes += len(data); in.bytes > MaxTotalBytes {
			in.r.add(&FieldError{File: in.name(rel), Message: fmt.Sprintf("the kustomizations' directories hold more than %d MiB: reconcile stops reading here", MaxTotalBytes>>20)})
			return filepath.SkipAll
		}
		if data = in.r.decryptForKustomize(in.name(rel), data); data == nil {
			return nil
		}
		if err := in.fs.WriteFile("/"+rel, data); err != nil {
			in.r.add(&FieldError{File: in.name(rel), Message: "cannot read: " + err.Error()})
		}
		return nil
	})
}
