package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// RunError carries a failed command's output up to where it is printed.
type RunError struct {
	Command []string
	Stderr  string
	Err     error
}

func (e *RunError) Error() string {
	msg := strings.TrimSpace(e.Stderr)
	if msg == "" {
		return fmt.Sprintf("%s: %v", strings.Join(e.Command, " "), e.Err)
	}
	return fmt.Sprintf("%s: %v: %s", strings.Join(e.Command, " "), e.Err, msg)
}

func (e *RunError) Unwrap() error { return e.Err }

// run runs a command on the machine and returns its stdout.
func run(ctx context.Context, name string, args ...string) ([]byte, error) {
	return runEnv(ctx, nil, name, args...)
}

func runEnv(ctx context.Context, env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), &RunError{Command: append([]string{name}, args...), Stderr: stderr.String(), Err: err}
	}
	return stdout.Bytes(), nil
}

// pidStart returns a process's start time from /proc/PID/stat (field 22),
// which together with the pid names one process for good.
func pidStart(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// comm (field 2) may hold spaces; the fields after it start past ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	if f[0] == "Z" {
		return 0, fmt.Errorf("process %d is a zombie", pid)
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// alive reports whether the process recorded as (pid, start) still runs.
func alive(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	s, err := pidStart(pid)
	return err == nil && s == start
}

// killRecorded kills the process recorded as (pid, start), if it is still
// that process, and waits for it to go.
func killRecorded(pid int, start uint64) error {
	if !alive(pid, start) {
		return nil
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill %d: %w", pid, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid, start) {
		if time.Now().After(deadline) {
			return fmt.Errorf("process %d still running 10s after SIGKILL", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// childPID returns the first child of pid, waiting for it to appear.
func childPID(pid int, wait time.Duration) (int, error) {
	p := strconv.Itoa(pid)
	deadline := time.Now().Add(wait)
	for {
		b, err := os.ReadFile("/proc/" + p + "/task/" + p + "/children")
		if err != nil {
			return 0, fmt.Errorf("process %d exited: %w", pid, err)
		}
		if f := strings.Fields(string(b)); len(f) > 0 {
			return strconv.Atoi(f[0])
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("process %d has no child after %s", pid, wait)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// lockFile takes an exclusive flock on path, waiting for ctx.
func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for lock %s (another lab user holds it): %w", path, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Lock serializes users of the lab called name beyond one Up or Down: a test
// package holds it from its first Up to its teardown, so packages that run at
// the same time take turns instead of tearing down each other's lab.
func Lock(ctx context.Context, name string) (unlock func(), err error) {
	if err := os.MkdirAll(BaseDir, 0o700); err != nil {
		return nil, err
	}
	return lockFile(ctx, lockPath(name, "use"))
}

func lockPath(name, kind string) string {
	return BaseDir + "/" + name + "." + kind + ".lock"
}
