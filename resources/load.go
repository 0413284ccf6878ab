package resources

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
)

// TreeOptions say how a tree is read beyond its directory.
type TreeOptions struct {
	// Root is the boundary of what a kustomization may read: the
	// repository's checkout (or work tree) that holds the directory, so
	// an overlay can use a base in a sibling directory. Empty means the
	// directory itself.
	Root string
	// Exclude are gitignore patterns (--exclude) of paths not to load,
	// on top of the tree's .reconcileignore files.
	Exclude []string
	// Decryption says how SOPS-encrypted files are decrypted (decrypt.go).
	Decryption Decryption
	// ParseCache is a file that keeps the parsed YAML of the files read,
	// for the next load of the same source (parsed_cache.go); empty: none.
	ParseCache string
}

// Load reads dir, a single file or every .yaml, .yml and .json file under
// a directory (skipping hidden
// directories such as .git); it decodes, defaults and validates the objects
// and checks them against each other. A non-nil error is an ErrorList with
// every problem found, sorted by file and line; the returned Set then
// still carries the warnings but must not be acted on.
func Load(dir string) (*Set, error) { return LoadTree(dir, TreeOptions{}) }

// LoadTree is Load with the tree's boundary and exclusions. A directory
// holding a kustomization file (kustomization.yaml, .yml or Kustomization)
// is rendered by kustomize as one unit instead of being read file by file
// (see kustomize.go); paths matched by a .reconcileignore file or by
// o.Exclude are skipped.
func LoadTree(dir string, o TreeOptions) (*Set, error) {
	// A single file, as kubectl -f takes one: errors name it by its name.
	if fi, err := os.Stat(dir); err == nil && fi.Mode().IsRegular() {
		return loadTree(diskReader(filepath.Dir(dir)), filepath.Dir(dir), []string{filepath.Base(dir)}, nil, "", o)
	}
	ig := newIgnorer(o.Exclude)
	var files, kusts []string
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if e.IsDir() {
			if p != dir && strings.HasPrefix(e.Name(), ".") || ig.ignored(rel, true) {
				return filepath.SkipDir
			}
			if data, msg := readManifest(dir, path.Join(rel, IgnoreFile)); msg == "" {
				ig.addFile(rel, data)
			}
			if k := kustomizationFile(p); k != "" {
				kusts = append(kusts, path.Join(rel, k))
				return filepath.SkipDir
			}
			return nil
		}
		if isManifest(e.Name()) && !ig.ignored(rel, false) {
			if len(files) == MaxFiles {
				return errTooManyFiles
			}
			files = append(files, rel)
		}
		return nil
	})
	if errors.Is(err, errTooManyFiles) {
		return nil, ErrorList{{File: dir, Message: fmt.Sprintf("holds more than %d manifest files: point --path at a smaller tree", MaxFiles)}}
	}
	if err != nil {
		return nil, ErrorList{{File: dir, Message: "cannot read manifests: " + err.Error()}}
	}
	return loadTree(diskReader(dir), dir, files, kusts, o.Root, o)
}

var errTooManyFiles = errors.New("too many files")

// readManifest reads one manifest file of the tree at root. A repository
// is not trusted with the reading machine: a symbolic link may not lead
// out of the tree (to a private key, /dev/zero, another repository), only
// regular files are read, and no more than MaxFileBytes of them. Errors
// name the file as the tree names it and never show what a link points to.
func readManifest(root, file string) ([]byte, string) {
	p := filepath.Join(root, filepath.FromSlash(file))
	fi, err := os.Lstat(p)
	if err != nil {
		return nil, "cannot read: " + unwrapPathError(err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		target, err := filepath.EvalSymlinks(p)
		if err != nil {
			return nil, "is a symbolic link that cannot be resolved inside the tree"
		}
		realRoot, err := filepath.EvalSymlinks(root)
		if err != nil {
			return nil, "cannot read: " + unwrapPathError(err)
		}
		if rel, err := filepath.Rel(realRoot, target); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return nil, "is a symbolic link that leaves the tree: reconcile reads only files inside it"
		}
		p = target
	}
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, "cannot read: " + unwrapPathError(err)
	}
	defer f.Close()
	return readOpened(f)
}

// readOpened reads an opened manifest, on disk or in memory: only a
// regular file, and no more than MaxFileBytes even if it grows while read.
func readOpened(f fs.File) ([]byte, string) {
	fi, err := f.Stat()
	if err != nil {
		return nil, "cannot read: " + unwrapPathError(err)
	}
	if !fi.Mode().IsRegular() {
		return nil, "is not a regular file: reconcile reads only regular files"
	}
	if fi.Size() > MaxFileBytes {
		return nil, tooBig(fi.Size())
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, "cannot read: " + unwrapPathError(err)
	}
	if len(data) > MaxFileBytes {
		return nil, tooBig(int64(len(data)))
	}
	return data, ""
}

// tooBig is the message of a manifest file of n bytes, over MaxFileBytes.
func tooBig(n int64) string {
	return fmt.Sprintf("is %d bytes, more than the limit of %d bytes (%d MiB) per manifest file", n, MaxFileBytes, MaxFileBytes>>20)
}

// diskReader reads the manifest files of the tree at root on disk.
func diskReader(root string) func(file string) ([]byte, string) {
	return func(file string) ([]byte, string) { return readManifest(root, file) }
}

func isManifest(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// LoadFiles is Load for a given list of files, named relative to root.
func LoadFiles(root string, files []string) (*Set, error) {
	return loadTree(diskReader(root), root, files, nil, "", TreeOptions{})
}

// loadTree loads files, read with read, and renders the kustomizations
// kusts (paths of kustomization files), all relative to dir; boundary is
// what the kustomizations may read (empty: dir). Of o, only the
// decryption and the parse cache are used.
func loadTree(read func(file string) ([]byte, string), dir string, files, kusts []string, boundary string, o TreeOptions) (*Set, error) {
	r := &reporter{decryption: o.Decryption, parsed: openParseCache(o.ParseCache)}
	var objs []any
	sorted := append([]string(nil), files...)
	sort.Strings(sorted)
	total := 0
	if len(kusts) > 0 {
		objs = append(objs, renderKustomizations(r, dir, kusts, boundary, &total)...)
	}
	var got []manifestFile
	for _, f := range sorted {
		data, msg := read(f)
		if msg != "" {
			r.add(&FieldError{File: f, Message: msg})
			continue
		}
		if total += len(data); total > MaxTotalBytes {
			r.add(&FieldError{File: f, Message: fmt.Sprintf("the tree's manifests exceed %d MiB together here: reconcile stops reading; point --path at a smaller tree", MaxTotalBytes>>20)})
			break
		}
		got = append(got, manifestFile{f, data})
	}
	objs = append(objs, decodeFiles(got, r)...)
	r.parsed.save()
	s := &Set{}
	seen := map[string]Source{}
	for _, o := range objs {
		switch o := o.(type) {
		case *Deployment:
			o.Default()
			validateDeployment(r, o)
			if checkUnique(r, seen, o.Source, "Deployment", o.Namespace, o.Name) && checkWorkloadName(r, seen, o.Source, "Deployment", o.Namespace, o.Name) {
				s.Deployments = append(s.Deployments, o)
			}
		case *DaemonSet:
			o.Default()
			validateDaemonSet(r, o)
			if checkUnique(r, seen, o.Source, "DaemonSet", o.Namespace, o.Name) && checkWorkloadName(r, seen, o.Source, "DaemonSet", o.Namespace, o.Name) {
				s.DaemonSets = append(s.DaemonSets, o)
				s.Deployments = append(s.Deployments, o.Workload())
			}
		case *Service:
			o.Default()
			validateService(r, o)
			if checkUnique(r, seen, o.Source, "Service", o.Namespace, o.Name) {
				s.Services = append(s.Services, o)
			}
		case *ConfigMap:
			o.Default()
			validateConfigMap(r, o)
			if checkUnique(r, seen, o.Source, "ConfigMap", o.Namespace, o.Name) {
				s.ConfigMaps = append(s.ConfigMaps, o)
			}
		case *Secret:
			stringKeys := slices.Collect(maps.Keys(o.StringData))
			o.Default()
			validateSecret(r, o, stringKeys)
			if checkUnique(r, seen, o.Source, "Secret", o.Namespace, o.Name) {
				s.Secrets = append(s.Secrets, o)
			}
		case *PersistentVolumeClaim:
			o.Default()
			validatePVC(r, o)
			if checkUnique(r, seen, o.Source, "PersistentVolumeClaim", o.Namespace, o.Name) {
				s.PersistentVolumeClaims = append(s.PersistentVolumeClaims, o)
			}
		case *Namespace:
			validateNamespace(r, o)
			if checkUnique(r, seen, o.Source, "Namespace", "", o.Name) {
				s.Namespaces = append(s.Namespaces, o)
			}
		case *Cluster:
			o.Default()
			validateCluster(r, o)
			if s.Cluster != nil {
				r.object(o.Source, ClusterKind, o.Name).errorf("", "a tree may declare only one Cluster; %s already declares %q", s.Cluster.Source, s.Cluster.Name)
				continue
			}
			s.Cluster = o
		}
	}
	sortObjects(s)
	validateSet(r, s)
	var err error
	s.Warnings, err = r.result()
	return s, err
}

// checkUnique reports a second object with the same kind, namespace and
// name, wherever it is declared.
func checkUnique(r *reporter, seen map[string]Source, src Source, kind, ns, name string) bool {
	key := kind + "/" + ns + "/" + name
	if prev, dup := seen[key]; dup {
		full := name
		if ns != "" {
			full = ns + "/" + name
		}
		if prev.rendered && src.rendered {
			// Most often a base beside its overlays: each is rendered, as a
			// directory with a kustomization is, and they render the same.
			r.object(src, kind, name).errorf("metadata.name", "duplicate %s %s: both %s and %s render it; reconcile applies every kustomization in the tree, so point -f/--path at the one overlay to apply (its directory, e.g. %s)", kind, full, prev, src, path.Dir(src.File))
			return false
		}
		r.object(src, kind, name).errorf("metadata.name", "duplicate %s %s: already declared at %s", kind, full, prev)
		return false
	}
	seen[key] = src
	return true
}

// checkWorkloadName refuses a Deployment and a DaemonSet of one name in
// one namespace: pods are named and grouped by their workload's name, so
// the two would take each other's pods. The later one is reported.
func checkWorkloadName(r *reporter, seen map[string]Source, src Source, kind, ns, name string) bool {
	other := map[string]string{"Deployment": "DaemonSet", "DaemonSet": "Deployment"}[kind]
	if prev, dup := seen[other+"/"+ns+"/"+name]; dup {
		r.object(src, kind, name).errorf("metadata.name", "%s %s/%s (%s) has the same name: reconcile names pods after their Deployment or DaemonSet, so give one of them another name", other, ns, name, prev)
		return false
	}
	return true
}

func sortObjects(s *Set) {
	sortByName(s.ConfigMaps, func(c *ConfigMap) ObjectMeta { return c.ObjectMeta })
	sortByName(s.Secrets, func(c *Secret) ObjectMeta { return c.ObjectMeta })
	sortByName(s.Namespaces, func(c *Namespace) ObjectMeta { return c.ObjectMeta })
	sortByName(s.PersistentVolumeClaims, func(c *PersistentVolumeClaim) ObjectMeta { return c.ObjectMeta })
	sort.SliceStable(s.Deployments, func(i, j int) bool {
		a, b := s.Deployments[i], s.Deployments[j]
		return a.Namespace < b.Namespace || a.Namespace == b.Namespace && a.Name < b.Name
	})
	sort.SliceStable(s.DaemonSets, func(i, j int) bool {
		a, b := s.DaemonSets[i], s.DaemonSets[j]
		return a.Namespace < b.Namespace || a.Namespace == b.Namespace && a.Name < b.Name
	})
	sort.SliceStable(s.Services, func(i, j int) bool {
		a, b := s.Services[i], s.Services[j]
		return a.Namespace < b.Namespace || a.Namespace == b.Namespace && a.Name < b.Name
	})
}

func sortByName[T any](l []T, meta func(T) ObjectMeta) {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := meta(l[i]), meta(l[j])
		return a.Namespace < b.Namespace || a.Namespace == b.Namespace && a.Name < b.Name
	})
}

func unwrapPathError(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// LoadCluster reads the one Cluster a --cluster file declares, defaulted
// and validated like one found in a tree. Source.File is file as given.
func LoadCluster(file string) (*Cluster, error) {
	r := &reporter{}
	// The --cluster file is named by the user, so a symlink is followed
	// wherever it leads; it is still only read if regular and small.
	data, msg := readManifest(filepath.Dir(file), filepath.Base(file))
	if msg != "" && strings.Contains(msg, "symbolic link") {
		if real, err := filepath.EvalSymlinks(file); err == nil {
			data, msg = readManifest(filepath.Dir(real), filepath.Base(real))
		}
	}
	if msg != "" {
		return nil, ErrorList{{File: file, Message: msg}}
	}
	var cluster *Cluster
	for _, o := range decodeFile(file, data, r) {
		c, ok := o.(*Cluster)
		if !ok {
			src, kind, name := objectIdentity(o)
			r.object(src, kind, name).errorf("kind", "a --cluster file may only declare a %s %s", ClusterAPIVersion, ClusterKind)
			continue
		}
		if cluster != nil {
			r.object(c.Source, ClusterKind, c.Name).errorf("", "a --cluster file may declare only one Cluster; %s already declares %q", cluster.Source, cluster.Name)
			continue
		}
		c.Default()
		validateCluster(r, c)
		cluster = c
	}
	if cluster == nil && r.n == 0 {
		r.add(&FieldError{File: file, Message: "declares no " + ClusterAPIVersion + " " + ClusterKind})
	}
	if _, err := r.result(); err != nil {
		return nil, err
	}
	return cluster, nil
}

func objectIdentity(o any) (Source, string, string) {
	switch o := o.(type) {
	case *Deployment:
		return o.Source, "Deployment", o.Name
	case *DaemonSet:
		return o.Source, "DaemonSet", o.Name
	case *Service:
		return o.Source, "Service", o.Name
	case *Cluster:
		return o.Source, ClusterKind, o.Name
	case *ConfigMap:
		return o.Source, "ConfigMap", o.Name
	case *Secret:
		return o.Source, "Secret", o.Name
	case *Namespace:
		return o.Source, "Namespace", o.Name
	case *PersistentVolumeClaim:
		return o.Source, "PersistentVolumeClaim", o.Name
	}
	return Source{}, "", ""
}

// WithCluster makes c the Set's Cluster, replacing any the tree declared
// (a --cluster file wins), and re-runs the checks that involve it, such
// as clusterIPs lying inside the serviceCIDR. Warnings are recomputed.
func (s *Set) WithCluster(c *Cluster) error {
	r := &reporter{}
	if c != nil {
		c.Default()
		validateCluster(r, c)
	}
	s.Cluster = c
	validateSet(r, s)
	var err error
	s.Warnings, err = r.result()
	return err
}
