package lab

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Down removes the lab: its hosts' processes (by recorded pid), namespaces,
// links, the FORWARD rules and mountpoints it added, and its state folder.
// Anything else on the machine is left alone.
func (l *Lab) Down() error {
	if err := os.MkdirAll(BaseDir, 0o700); err != nil {
		return err
	}
	unlock, err := lockFile(context.Background(), lockPath(l.Name, "op"))
	if err != nil {
		return err
	}
	defer unlock()
	return l.down()
}

// Down removes the lab called name, whether or not its state survived.
func Down(name string) error {
	l, err := Load(name)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		l = newLab(Config{Name: name, Hosts: 1}.withDefaults())
		l.Hosts = nil
	}
	return l.Down()
}

func (l *Lab) down() error {
	var errs []error
	for _, h := range l.Hosts {
		if err := killRecorded(h.PID, h.PIDStart); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", h.Name, err))
		}
	}
	errs = append(errs, removeByName(l.Name)...)
	errs = append(errs, removeCgroups(l.Name)...)
	for _, m := range l.Mountpoints {
		// Only while empty: something may have moved in since.
		if err := os.Remove(m); err != nil && !errors.Is(err, os.ErrNotExist) && !errors.Is(err, syscall.ENOTEMPTY) {
			errs = append(errs, err)
		}
	}
	if l.Dir != "" {
		if err := os.RemoveAll(l.Dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// cleanupByName removes what a lab of this name left without a state file
// (a run killed before it wrote one).
func cleanupByName(cfg Config) error {
	errs := removeByName(cfg.Name)
	if _, err := os.Stat(cfg.StateDir); err == nil {
		if err := os.RemoveAll(cfg.StateDir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// removeByName removes the namespaces, links and FORWARD rules whose names
// only this lab uses: "<name>-node-N", "<name>-br0", "<name>-nN". Any
// process still in one of those namespaces is one of the lab's hosts (or was
// started inside it), so it is killed.
func removeByName(name string) []error {
	ctx := context.Background()
	var errs []error
	nsRE := regexp.MustCompile(`^` + name + `-node-[0-9]+$`)
	out, err := run(ctx, "ip", "netns", "list")
	if err != nil {
		return []error{err}
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !nsRE.MatchString(f[0]) {
			continue
		}
		ns := f[0]
		if err := killNetNS(ctx, ns); err != nil {
			errs = append(errs, err)
		}
		if _, err := run(ctx, "ip", "netns", "delete", ns); err != nil {
			errs = append(errs, err)
		}
	}

	linkRE := regexp.MustCompile(`^` + name + `-(br0|n[0-9]+)$`)
	out, err = run(ctx, "ip", "-o", "link", "show")
	if err != nil {
		return append(errs, err)
	}
	var links []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		n := strings.TrimSuffix(f[1], ":")
		if i := strings.IndexByte(n, '@'); i >= 0 {
			n = n[:i]
		}
		if linkRE.MatchString(n) {
			links = append(links, n)
		}
	}
	// Veths first: deleting the bridge would only detach them.
	for i := len(links) - 1; i >= 0; i-- {
		if _, err := run(ctx, "ip", "link", "delete", links[i]); err != nil && !strings.Contains(err.Error(), "Cannot find device") {
			errs = append(errs, err)
		}
	}

	bridge := name + "-br0"
	out, err = run(ctx, "iptables", "-w", "-S", "FORWARD")
	if err != nil {
		return append(errs, err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "-A" || !(containsPair(f, "-i", bridge) || containsPair(f, "-o", bridge)) {
			continue
		}
		f[0] = "-D"
		if _, err := run(ctx, "iptables", append([]string{"-w"}, f...)...); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

func containsPair(f []string, k, v string) bool {
	for i := 0; i+1 < len(f); i++ {
		if f[i] == k && f[i+1] == v {
			return true
		}
	}
	return false
}

// killNetNS kills every process in the named network namespace and waits
// for them to go.
func killNetNS(ctx context.Context, ns string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := run(ctx, "ip", "netns", "pids", ns)
		if err != nil {
			return err
		}
		pids := strings.Fields(string(out))
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: processes %s still running 10s after SIGKILL", ns, strings.Join(pids, " "))
		}
		for _, p := range pids {
			if pid, err := strconv.Atoi(p); err == nil {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// removeCgroups removes the cgroups the hosts' dockerd made under their
// --cgroup-parent ("/<name>-node-N", see host.sh) in every hierarchy. Runc
// removes a container's cgroup when the container is deleted, but not when
// the whole host was killed. Only empty cgroups can go; a busy one is an
// error.
func removeCgroups(name string) []error {
	var errs []error
	tops, _ := filepath.Glob("/sys/fs/cgroup/*/" + name + "-node-*")
	more, _ := filepath.Glob("/sys/fs/cgroup/" + name + "-node-*") // cgroup v2
	for _, top := range append(tops, more...) {
		var dirs []string
		filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		// Children before parents.
		for i := len(dirs) - 1; i >= 0; i-- {
			if err := syscall.Rmdir(dirs[i]); err != nil && !errors.Is(err, syscall.ENOENT) {
				errs = append(errs, fmt.Errorf("cgroup %s: %w", dirs[i], err))
			}
		}
	}
	return errs
}
