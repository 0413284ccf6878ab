package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// FakeMachine makes `uname -m` print machine on one host, for everything
// that runs there (SSH sessions included), until undo: a wrapper script
// bind-mounted over /usr/bin/uname inside the host's own mount namespace
// (the machine's root mount is private, so the machine never sees it).
// The other uname options still come from the real uname. Tests use it to
// make a host look like an arm64 one; with EmulateAarch64, arm64 binaries
// copied there actually run.
func (l *Lab) FakeMachine(ctx context.Context, host, machine string) (undo func() error, err error) {
	if strings.ContainsAny(machine, " \t\n'\"\\$`") || machine == "" {
		return nil, fmt.Errorf("fake machine %q: want one plain word", machine)
	}
	dir := filepath.Join(l.Dir, "fake-uname", host)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	real := filepath.Join(dir, "uname.real")
	b, err := os.ReadFile("/usr/bin/uname")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(real, b, 0o755); err != nil {
		return nil, err
	}
	wrapper := filepath.Join(dir, "uname")
	script := fmt.Sprintf("#!/bin/sh\n# lab.FakeMachine: this host says it is %[1]s\nif [ \"$#\" -eq 1 ] && [ \"$1\" = -m ]; then echo %[1]s; exit 0; fi\nexec %[2]s \"$@\"\n", machine, real)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		return nil, err
	}
	// Only one fake at a time: a second mount would hide the first.
	if _, err := l.Exec(ctx, host, "sh", "-c", "! grep -q ' /usr/bin/uname ' /proc/self/mountinfo && mount --bind "+wrapper+" /usr/bin/uname"); err != nil {
		return nil, fmt.Errorf("fake uname -m on %s: %w", host, err)
	}
	return func() error {
		_, err := l.Exec(context.Background(), host, "umount", "/usr/bin/uname")
		return errors.Join(err, os.RemoveAll(dir))
	}, nil
}

// binfmt_misc paths; the registration is the one qemu's
// qemu-binfmt-conf.sh writes for aarch64, under a name of the lab's own, with
// flag F: the kernel opens the interpreter now, so arm64 binaries also run
// inside containers, which do not have /usr/bin/qemu-aarch64-static.
const (
	binfmtDir     = "/proc/sys/fs/binfmt_misc"
	binfmtName    = "reconcile-lab-aarch64"
	qemuAarch64   = "/usr/bin/qemu-aarch64-static"
	aarch64Magic  = `\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00`
	aarch64Mask   = `\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff`
	binfmtMounted = binfmtDir + "/register"
)

// EmulateAarch64 lets this machine run linux/arm64 executables under
// qemu-user (integration/install-deps.sh installs qemu-user-static), and
// undo leaves binfmt_misc as it was found: an aarch64 handler already
// registered (by binfmt-support, say) is used and left alone; otherwise
// the lab registers its own and removes it, and unmounts binfmt_misc if it
// mounted it. binfmt_misc is the kernel's, not the lab's: call undo before
// the test ends.
func EmulateAarch64() (undo func() error, err error) {
	var undos []func() error
	undoAll := func() error {
		var errs []error
		for i := len(undos) - 1; i >= 0; i-- {
			errs = append(errs, undos[i]())
		}
		return errors.Join(errs...)
	}
	if _, err := os.Stat(qemuAarch64); err != nil {
		return nil, fmt.Errorf("arm64 emulation needs %s: run integration/install-deps.sh (qemu-user-static): %w", qemuAarch64, err)
	}
	if _, err := os.Stat(binfmtMounted); err != nil {
		if _, err := run(context.Background(), "mount", "-t", "binfmt_misc", "binfmt_misc", binfmtDir); err != nil {
			return nil, fmt.Errorf("mount binfmt_misc: %w", err)
		}
		undos = append(undos, func() error { _, err := run(context.Background(), "umount", binfmtDir); return err })
	}
	if b, err := os.ReadFile(filepath.Join(binfmtDir, "status")); err != nil || strings.TrimSpace(string(b)) != "enabled" {
		return nil, errors.Join(fmt.Errorf("binfmt_misc is not enabled (%s/status: %q, %v)", binfmtDir, b, err), undoAll())
	}
	// A handler someone else registered for aarch64 ELF stays theirs.
	entries, _ := os.ReadDir(binfmtDir)
	for _, e := range entries {
		if e.Name() == binfmtName {
			continue
		}
		b, err := os.ReadFile(filepath.Join(binfmtDir, e.Name()))
		if err == nil && strings.Contains(string(b), "magic 7f454c460201010000000000000000000200b700") && strings.Contains(string(b), "enabled") {
			return undoAll, nil
		}
	}
	entry := filepath.Join(binfmtDir, binfmtName)
	if _, err := os.Stat(entry); err == nil {
		// Left by a killed run of ours: replace it.
		if err := os.WriteFile(entry, []byte("-1"), 0); err != nil {
			return nil, errors.Join(fmt.Errorf("remove stale %s: %w", entry, err), undoAll())
		}
	}
	reg := fmt.Sprintf(":%s:M::%s:%s:%s:F", binfmtName, aarch64Magic, aarch64Mask, qemuAarch64)
	if err := os.WriteFile(binfmtMounted, []byte(reg), 0); err != nil {
		return nil, errors.Join(fmt.Errorf("register %s in binfmt_misc: %w", qemuAarch64, err), undoAll())
	}
	undos = append(undos, func() error { return os.WriteFile(entry, []byte("-1"), 0) })
	return undoAll, nil
}
