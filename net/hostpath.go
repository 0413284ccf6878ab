package net

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// HostPath is a hostPath volume a pod on this host is about to mount:
// the agent checks it against the Cluster's allow-list with symlinks
// resolved on the host (the CLI checked only the path as written), and
// checks or creates it as Type says (Kubernetes' hostPath types).
type HostPath struct {
	Path string `json:"path"`
	Type string `json:"type,omitempty"`
}

// hostPathAllowed: p is an entry of allow or lies below one, by path
// components. "/" and relative entries allow nothing.
func hostPathAllowed(allow []string, p string) bool {
	for _, a := range allow {
		if !path.IsAbs(a) || path.Clean(a) == "/" {
			continue
		}
		a = path.Clean(a)
		if p == a || strings.HasPrefix(p, a+"/") {
			return true
		}
	}
	return false
}

// resolveAllowList resolves the allow-list's own symlinks, so an entry
// /srv/data that is a link still allows what lies in its target.
func resolveAllowList(allow []string) []string {
	out := append([]string(nil), allow...)
	for _, a := range allow {
		if r, err := filepath.EvalSymlinks(a); err == nil && r != a {
			out = append(out, r)
		}
	}
	return out
}

// validateHostPaths refuses a malformed request; a well-formed path the
// allow-list does not allow is a problem of its pods (syncHostPaths).
func validateHostPaths(c NodeConfig) error {
	var errs []error
	for _, h := range c.HostPaths {
		if !path.IsAbs(h.Path) || path.Clean(h.Path) != h.Path || strings.ContainsRune(h.Path, 0) {
			errs = append(errs, fmt.Errorf("hostPath %q: must be a clean absolute path", h.Path))
		}
		switch h.Type {
		case "", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice", "BlockDevice":
		default:
			errs = append(errs, fmt.Errorf("hostPath %s: unknown type %q", h.Path, h.Type))
		}
	}
	return errors.Join(errs...)
}

// HostPathProblem is a hostPath the agent refused (outside the
// allow-list, as written or once its symlinks are resolved) or could not
// check or make. It is the problem of the pods that mount it, as a
// kubelet's failed mount is: the rest of the host's apply goes on, and
// the planner fails only those pods.
type HostPathProblem struct {
	Path    string `json:"path"`
	Problem string `json:"problem"`
}

// syncHostPaths checks each hostPath on this host: as written and with
// every symlink resolved it must be in the allow-list, and it must be of
// its type; DirectoryOrCreate and FileOrCreate make a missing one.
func syncHostPaths(c NodeConfig, dryRun bool) ([]Change, []HostPathProblem) {
	var changes []Change
	var problems []HostPathProblem
	allow := resolveAllowList(c.HostPathAllowList)
	for _, h := range c.HostPaths {
		if !hostPathAllowed(c.HostPathAllowList, h.Path) {
			problems = append(problems, HostPathProblem{h.Path, fmt.Sprintf("outside the Cluster's hostPathAllowList (%s); refused", strings.Join(c.HostPathAllowList, ", "))})
			continue
		}
		ch, err := checkHostPath(h, allow, dryRun)
		if err != nil {
			problems = append(problems, HostPathProblem{h.Path, err.Error()})
		}
		changes = append(changes, ch...)
	}
	return changes, problems
}

func checkHostPath(h HostPath, allow []string, dryRun bool) ([]Change, error) {
	real, missing, err := resolveExisting(h.Path)
	if err != nil {
		return nil, err
	}
	if !hostPathAllowed(allow, real) {
		return nil, fmt.Errorf("resolves to %s, outside the Cluster's hostPathAllowList; refused", real)
	}
	if missing {
		switch h.Type {
		case "DirectoryOrCreate", "FileOrCreate":
			ch := []Change{{Kind: KindHostPath, Action: ActionAdd, Target: h.Path, Detail: strings.TrimSuffix(h.Type, "OrCreate")}}
			if dryRun {
				return ch, nil
			}
			return ch, createHostPath(real, h.Type == "DirectoryOrCreate", allow)
		case "":
			return nil, nil // Docker creates a missing bind source as a directory, as Kubernetes' unset type allows
		}
		return nil, fmt.Errorf("does not exist (type %s): create it on the host, or use type %sOrCreate", h.Type, h.Type)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return nil, err
	}
	want := map[string]func(fs.FileMode) bool{
		"Directory":         fs.FileMode.IsDir,
		"DirectoryOrCreate": fs.FileMode.IsDir,
		"File":              fs.FileMode.IsRegular,
		"FileOrCreate":      fs.FileMode.IsRegular,
		"Socket":            func(m fs.FileMode) bool { return m&fs.ModeSocket != 0 },
		"CharDevice":        func(m fs.FileMode) bool { return m&fs.ModeCharDevice != 0 },
		"BlockDevice":       func(m fs.FileMode) bool { return m&fs.ModeDevice != 0 && m&fs.ModeCharDevice == 0 },
	}[h.Type]
	if want != nil && !want(fi.Mode()) {
		return nil, fmt.Errorf("is a %s, not a %s", describeMode(fi.Mode()), h.Type)
	}
	return nil, nil
}

// KindHostPath is a hostPath the agent created.
const KindHostPath = "hostpath"

// resolveExisting resolves the symlinks of p's longest existing prefix
// and appends the rest; missing says whether p itself is absent.
func resolveExisting(p string) (real string, missing bool, err error) {
	rest := ""
	cur := p
	for {
		r, err := filepath.EvalSymlinks(cur)
		if err == nil {
			return path.Join(r, rest), rest != "", nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", false, err
		}
		if cur == "/" {
			return "", false, err
		}
		rest = path.Join(path.Base(cur), rest)
		cur = path.Dir(cur)
	}
}

// createHostPath makes a missing directory (0755) or empty file (0644)
// and its missing parents; then checks again that what was made is where
// it was meant to be (a symlink swapped in meanwhile is caught).
func createHostPath(p string, dir bool, allow []string) error {
	parent := p
	if !dir {
		parent = path.Dir(p)
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	if !dir {
		fd, err := unix.Open(p, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return err
		}
		if err == nil {
			unix.Close(fd)
		}
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return err
	}
	if !hostPathAllowed(allow, real) {
		return fmt.Errorf("resolves to %s after creating it, outside the hostPathAllowList; refused", real)
	}
	return nil
}

func describeMode(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m.IsRegular():
		return "regular file"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeSymlink != 0:
		return "symlink"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return m.Type().String()
}
