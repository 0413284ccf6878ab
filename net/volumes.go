package net

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/reconcile-dev/reconcile/internal/atomicfile"
)

// VolumesDir holds the ConfigMap and Secret volumes of the host's pods,
// one directory per volume of a Deployment: VolumesDir/<cluster>/<id>.
// It must be on tmpfs, so Secret values never reach a disk: the agent
// mounts a tmpfs there when /run is not one, and refuses to write
// otherwise.
const VolumesDir = RunDir + "/volumes"

// volumesDir is VolumesDir, and requireTmpfs ensureTmpfs; tests point
// them at a temporary folder and a check of their own.
var (
	volumesDir   = VolumesDir
	requireTmpfs = ensureTmpfs
)

// Limits on what one request may make the agent write (defence in depth
// behind the CLI's 1 MiB per ConfigMap/Secret).
const (
	maxVolumeBytes = 4 << 20
	maxVolumeFiles = 1000
	maxVolumes     = 1000
)

// Volume is the content of one ConfigMap, Secret or projected volume
// of a Deployment on this host. Its files are written with the kubelet's
// atomic layout: a timestamped directory ..<time>/ holding them, a
// symlink ..data pointing at it, and for each top-level name a symlink
// name -> ..data/name. An update writes a new timestamped directory and
// swaps ..data with one rename, so a reader sees the old files or the
// new ones, never a mix; the pod's bind mount of the volume directory
// sees the update without a restart.
type Volume struct {
	ID    string       `json:"id"` // <namespace>.<deployment>.<volume>
	Files []VolumeFile `json:"files,omitempty"`
	// Withheld: the state file's record, without the values; the status
	// verb's drift check can only tell whether the volume is there.
	Withheld bool `json:"withheld,omitempty"`
}

// VolumeFile is one file of a Volume; Path is relative, may hold
// directories, and never starts a component with "..".
type VolumeFile struct {
	Path    string `json:"path"`
	Content []byte `json:"content"`
	Mode    uint32 `json:"mode"`
}

// VolumeDir is where the agent writes a volume.
func VolumeDir(cluster, id string) string { return VolumesDir + "/" + cluster + "/" + id }

var volumeIDRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?){2}$`)
var clusterNameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

func validateVolumes(c NodeConfig) error {
	if len(c.Volumes) == 0 {
		return nil
	}
	var errs []error
	if !clusterNameRE.MatchString(c.Cluster) {
		errs = append(errs, fmt.Errorf("volumes: cluster name %q is not a DNS label", c.Cluster))
	}
	if len(c.Volumes) > maxVolumes {
		errs = append(errs, fmt.Errorf("volumes: more than %d", maxVolumes))
	}
	seen := map[string]bool{}
	for _, v := range c.Volumes {
		if !volumeIDRE.MatchString(v.ID) || seen[v.ID] {
			errs = append(errs, fmt.Errorf("volume %q: not namespace.deployment.volume, or given twice", v.ID))
			continue
		}
		seen[v.ID] = true
		size := 0
		paths := map[string]bool{}
		for _, f := range v.Files {
			size += len(f.Content)
			if msg := volumeFilePath(f.Path); msg != "" {
				errs = append(errs, fmt.Errorf("volume %s: file %q: %s", v.ID, f.Path, msg))
			}
			if f.Mode > 0o777 {
				errs = append(errs, fmt.Errorf("volume %s: file %q: mode %#o is more than 0777", v.ID, f.Path, f.Mode))
			}
			paths[f.Path] = true
		}
		// A file may not also be a directory of another. (path.Dir ends at
		// "." for a relative path and at "/" for an absolute one, which
		// volumeFilePath has already refused.)
		for p := range paths {
			for d := path.Dir(p); d != "." && d != "/"; d = path.Dir(d) {
				if paths[d] {
					errs = append(errs, fmt.Errorf("volume %s: %q is both a file and the directory of %q", v.ID, d, p))
				}
			}
		}
		if size > maxVolumeBytes || len(v.Files) > maxVolumeFiles {
			errs = append(errs, fmt.Errorf("volume %s: more than %d files or %d MiB", v.ID, maxVolumeFiles, maxVolumeBytes>>20))
		}
	}
	return errors.Join(errs...)
}

func volumeFilePath(p string) string {
	if p == "" || path.IsAbs(p) || path.Clean(p) != p || strings.ContainsRune(p, 0) {
		return "must be a clean relative path"
	}
	for _, c := range strings.Split(p, "/") {
		if strings.HasPrefix(c, "..") {
			return "no component may start with \"..\""
		}
	}
	return ""
}

// syncVolumes converges the cluster's volume directories on this host to
// c.Volumes: missing or different ones are (re)written atomically, ones
// no longer listed (their last pod here is gone) are removed.
func syncVolumes(c NodeConfig, dryRun bool) ([]Change, error) {
	if !clusterNameRE.MatchString(c.Cluster) {
		return nil, nil // no volumes can have been written for it
	}
	root := volumesDir + "/" + c.Cluster
	rootDir, err := openVolumesRoot(root, len(c.Volumes) > 0 && !dryRun)
	if errors.Is(err, fs.ErrNotExist) {
		if len(c.Volumes) == 0 {
			return nil, nil
		}
		if dryRun {
			var changes []Change
			for _, v := range c.Volumes {
				changes = append(changes, volumeChange(root, v, ActionAdd, nil))
			}
			return changes, nil
		}
	}
	if err != nil {
		return nil, err
	}
	defer rootDir.Close()
	rfd := int(rootDir.Fd())
	var changes []Change
	var errs []error
	want := map[string]bool{}
	for _, v := range c.Volumes {
		want[v.ID] = true
		ch, err := syncVolume(rfd, root, v, dryRun)
		if err != nil {
			errs = append(errs, fmt.Errorf("volume %s/%s: %w", root, v.ID, err))
		}
		if ch != nil {
			changes = append(changes, *ch)
		}
	}
	names, err := rootDir.Readdirnames(-1)
	if err != nil {
		errs = append(errs, fmt.Errorf("list %s: %w", root, err))
	}
	sort.Strings(names)
	for _, n := range names {
		if want[n] || !volumeIDRE.MatchString(n) {
			continue
		}
		changes = append(changes, Change{Kind: KindVolume, Action: ActionDelete, Target: root + "/" + n, Detail: "no pod here uses it"})
		if !dryRun {
			if err := removeAllAt(rfd, n); err != nil {
				errs = append(errs, fmt.Errorf("remove %s/%s: %w", root, n, err))
			}
		}
	}
	return changes, errors.Join(errs...)
}

// KindVolume is a change of a pod volume's files (content never shown).
const KindVolume = "volume"

// volumeChange is the change of v; changed are the paths an update
// changes (nil for an add).
func volumeChange(root string, v Volume, action string, changed []string) Change {
	detail := fmt.Sprintf("%d files", len(v.Files))
	if action == ActionUpdate {
		detail = fmt.Sprintf("%d files, %d changed", len(v.Files), len(changed))
	}
	return Change{Kind: KindVolume, Action: action, Target: root + "/" + v.ID, Detail: detail,
		Volume: &VolumeDelta{Files: len(v.Files), Changed: changed}}
}

// openVolumesRoot opens VolumesDir/<cluster> without following symlinks,
// creating it (0700) when asked, after making sure VolumesDir is tmpfs.
func openVolumesRoot(root string, create bool) (*os.File, error) {
	if create {
		if err := requireTmpfs(volumesDir); err != nil {
			return nil, err
		}
	}
	parent, err := openOwnedDir(root+"/x", create)
	if err != nil {
		return nil, err
	}
	if create {
		if err := unix.Fchmod(int(parent.Fd()), 0o700); err != nil {
			parent.Close()
			return nil, fmt.Errorf("chmod %s: %w", root, err)
		}
	}
	return parent, nil
}

// ensureTmpfs makes dir (below our directories) a tmpfs: it is one when
// /run is, as on every systemd host; otherwise the agent mounts one.
func ensureTmpfs(dir string) error {
	d, err := openOwnedDir(dir+"/x", true)
	if err != nil {
		return err
	}
	defer d.Close()
	if onTmpfs(int(d.Fd())) {
		return nil
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0700"); err != nil {
		return fmt.Errorf("%s is not on tmpfs and mounting one failed (%w): reconcile keeps Secret files only in memory", dir, err)
	}
	d2, err := openOwnedDir(dir+"/x", false)
	if err != nil {
		return err
	}
	defer d2.Close()
	if !onTmpfs(int(d2.Fd())) {
		return fmt.Errorf("%s is not on tmpfs: reconcile keeps Secret files only in memory", dir)
	}
	return nil
}

func onTmpfs(fd int) bool {
	var st unix.Statfs_t
	return unix.Fstatfs(fd, &st) == nil && st.Type == unix.TMPFS_MAGIC
}

// syncVolume writes one volume when its files differ from v.
func syncVolume(rfd int, root string, v Volume, dryRun bool) (*Change, error) {
	cur, exists, err := readVolume(rfd, v.ID)
	if err != nil {
		return nil, err
	}
	if v.Withheld {
		if exists {
			return nil, nil
		}
		ch := volumeChange(root, v, ActionAdd, nil)
		if !dryRun {
			return &ch, fmt.Errorf("its content was withheld, and it must be written")
		}
		return &ch, nil
	}
	var changed []string
	want := map[string]bool{}
	for _, f := range v.Files {
		want[f.Path] = true
		if c, ok := cur[f.Path]; !ok || c.Mode != f.Mode || !bytes.Equal(c.Content, f.Content) {
			changed = append(changed, f.Path)
		}
	}
	for p := range cur {
		if !want[p] {
			changed = append(changed, p) // a key no longer there
		}
	}
	slices.Sort(changed)
	switch {
	case !exists:
		ch := volumeChange(root, v, ActionAdd, nil)
		if dryRun {
			return &ch, nil
		}
		return &ch, writeVolume(rfd, v)
	case len(changed) == 0:
		return nil, nil
	}
	ch := volumeChange(root, v, ActionUpdate, changed)
	if dryRun {
		return &ch, nil
	}
	return &ch, writeVolume(rfd, v)
}

// readVolume reads the files ..data points at, and whether the volume
// directory exists; a volume with a broken layout reads as empty, so it
// is rewritten.
func readVolume(rfd int, id string) (map[string]VolumeFile, bool, error) {
	vfd, err := unix.Openat(rfd, id, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("open: %w (reconcile never goes through a symlink)", err)
	}
	defer unix.Close(vfd)
	out := map[string]VolumeFile{}
	buf := make([]byte, 256)
	n, err := unix.Readlinkat(vfd, "..data", buf)
	if err != nil {
		return out, true, nil
	}
	ts := string(buf[:n])
	if !strings.HasPrefix(ts, "..") || strings.Contains(ts, "/") {
		return out, true, nil
	}
	tfd, err := unix.Openat(vfd, ts, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return out, true, nil
	}
	total := 0
	err = walkAt(tfd, "", func(p string, f *os.File) error {
		st, err := f.Stat()
		if err != nil {
			return err
		}
		b, err := io.ReadAll(io.LimitReader(f, maxVolumeBytes+1))
		if err != nil {
			return err
		}
		if total += len(b); total > maxVolumeBytes || len(out) >= maxVolumeFiles {
			return fmt.Errorf("holds more than %d MiB or %d files", maxVolumeBytes>>20, maxVolumeFiles)
		}
		out[p] = VolumeFile{Path: p, Content: b, Mode: uint32(st.Mode().Perm())}
		return nil
	})
	return out, true, err
}

// walkAt calls fn for every regular file below the directory fd (which
// it closes), never following a symlink.
func walkAt(fd int, prefix string, fn func(p string, f *os.File) error) error {
	d := os.NewFile(uintptr(fd), prefix)
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, n := range names {
		p := path.Join(prefix, n)
		cfd, err := unix.Openat(fd, n, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if err != nil {
			continue // a symlink or a vanished entry: not one of our files
		}
		var st unix.Stat_t
		if err := unix.Fstat(cfd, &st); err != nil {
			unix.Close(cfd)
			return err
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			if err := walkAt(cfd, p, fn); err != nil {
				return err
			}
		case unix.S_IFREG:
			f := os.NewFile(uintptr(cfd), p)
			err := fn(p, f)
			f.Close()
			if err != nil {
				return err
			}
		default:
			unix.Close(cfd)
		}
	}
	return nil
}

// writeVolume writes v's files into a new timestamped directory and
// swaps ..data to it, as the kubelet's AtomicWriter does.
func writeVolume(rfd int, v Volume) error {
	if err := unix.Mkdirat(rfd, v.ID, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("mkdir: %w", err)
	}
	vfd, err := unix.Openat(rfd, v.ID, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open: %w (reconcile never goes through a symlink)", err)
	}
	vdir := os.NewFile(uintptr(vfd), v.ID)
	defer vdir.Close()
	if err := unix.Fchmod(vfd, 0o755); err != nil {
		return err
	}
	ts := time.Now().UTC().Format("..2006_01_02_15_04_05.000000000")
	if err := unix.Mkdirat(vfd, ts, 0o755); err != nil {
		return fmt.Errorf("mkdir %s: %w", ts, err)
	}
	for _, f := range v.Files {
		if err := writeVolumeFile(vfd, ts+"/"+f.Path, f); err != nil {
			removeAllAt(vfd, ts)
			return err
		}
	}
	_ = unix.Unlinkat(vfd, "..data_tmp", 0)
	if err := unix.Symlinkat(ts, vfd, "..data_tmp"); err != nil {
		return fmt.Errorf("symlink ..data_tmp: %w", err)
	}
	if err := unix.Renameat(vfd, "..data_tmp", vfd, "..data"); err != nil {
		return fmt.Errorf("swap ..data: %w", err)
	}
	top := map[string]bool{}
	for _, f := range v.Files {
		name, _, _ := strings.Cut(f.Path, "/")
		top[name] = true
	}
	names, err := vdir.Readdirnames(-1)
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range names {
		switch {
		case n == "..data" || n == ts:
		case strings.HasPrefix(n, ".."), !top[n]:
			// Old timestamped directories and names no longer in the
			// payload; the new ..data is already in place.
			if err := removeAllAt(vfd, n); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, n := range slices.Sorted(mapKeys(top)) {
		target := "..data/" + n
		buf := make([]byte, len(target)+1)
		if m, err := unix.Readlinkat(vfd, n, buf); err == nil && string(buf[:m]) == target {
			continue
		}
		_ = removeAllAt(vfd, n)
		if err := unix.Symlinkat(target, vfd, n); err != nil {
			errs = append(errs, fmt.Errorf("symlink %s: %w", n, err))
		}
	}
	return errors.Join(errs...)
}

func mapKeys(m map[string]bool) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// writeVolumeFile creates rel's directories below the directory fd, each
// opened without following symlinks, and writes the file.
func writeVolumeFile(fd int, rel string, f VolumeFile) error {
	dir, base := path.Split(rel)
	cur, err := unix.Dup(fd)
	if err != nil {
		return err
	}
	for _, c := range strings.Split(strings.Trim(dir, "/"), "/") {
		if c == "" {
			continue
		}
		if err := unix.Mkdirat(cur, c, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
			unix.Close(cur)
			return fmt.Errorf("mkdir %s: %w", c, err)
		}
		next, err := unix.Openat(cur, c, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		unix.Close(cur)
		if err != nil {
			return fmt.Errorf("open %s: %w", c, err)
		}
		cur = next
	}
	d := os.NewFile(uintptr(cur), dir)
	defer d.Close()
	mode := fs.FileMode(f.Mode)
	if err := atomicfile.WriteAt(d, base, f.Content, mode); err != nil {
		return fmt.Errorf("write %s: %w", f.Path, err)
	}
	return nil
}

// removeAllAt removes the entry name of the directory fd and, for a
// directory, everything below it, never following a symlink.
func removeAllAt(fd int, name string) error {
	err := unix.Unlinkat(fd, name, 0)
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if !errors.Is(err, unix.EISDIR) && !errors.Is(err, unix.EPERM) {
		return err
	}
	cfd, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	d := os.NewFile(uintptr(cfd), name)
	names, err := d.Readdirnames(-1)
	if err != nil {
		d.Close()
		return err
	}
	for _, n := range names {
		if err := removeAllAt(cfd, n); err != nil {
			d.Close()
			return err
		}
	}
	d.Close()
	return unix.Unlinkat(fd, name, unix.AT_REMOVEDIR)
}

// withoutContent is what the state file records of the volumes: their
// file names and modes, never a value (not even its digest: a short
// password's SHA-256 is guessed offline).
func withoutContent(vs []Volume) []Volume {
	out := make([]Volume, len(vs))
	for i, v := range vs {
		out[i] = Volume{ID: v.ID, Files: make([]VolumeFile, len(v.Files)), Withheld: true}
		for j, f := range v.Files {
			out[i].Files[j] = VolumeFile{Path: f.Path, Mode: f.Mode}
		}
	}
	return out
}

// volumeDigests stand for the volumes in ConfigHash: a data change is a
// new config, so the planner dry-runs it and the host rewrites the
// files. The state file records only the hash of the whole config,
// never a digest per value.
func volumeDigests(vs []Volume) []Volume {
	out := withoutContent(vs)
	for i, v := range vs {
		for j, f := range v.Files {
			sum := sha256.Sum256(append([]byte(v.ID+"\x00"+f.Path+"\x00"), f.Content...))
			out[i].Files[j].Content = sum[:]
		}
	}
	return out
}
