package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// RunError is a remote command that failed. It keeps the command's stderr
// so the message printed at the top says why.
type RunError struct {
	Host     string
	Command  string
	Stderr   []byte
	ExitCode int // -1 when the command did not exit by itself
	Err      error
}

func (e *RunError) Error() string {
	cmd := e.Command
	if len(cmd) > 80 {
		cmd = cmd[:77] + "..."
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: run %q: ", e.Host, cmd)
	var ee *ssh.ExitError
	if errors.As(e.Err, &ee) && ee.Signal() == "" {
		fmt.Fprintf(&b, "exit %d", e.ExitCode)
	} else {
		b.WriteString(e.Err.Error())
	}
	if tail := lastLines(e.Stderr, 3); tail != "" {
		b.WriteString(": ")
		b.WriteString(tail)
	}
	return b.String()
}

func (e *RunError) Unwrap() error { return e.Err }

// lastLines is where error messages put a command's complaint: the end of
// its stderr, on one line.
func lastLines(b []byte, n int) string {
	var lines []string
	for l := range strings.SplitSeq(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "; ")
}

// killGrace is how long Run waits for a session to end after ctx is done
// before it gives up on the session's output.
const killGrace = 2 * time.Second

// Run runs cmd through the remote user's shell in one SSH session and
// returns its stdout. When ctx ends first, the remote command is killed.
func (h *Host) Run(ctx context.Context, stdin io.Reader, cmd string) ([]byte, error) {
	fail := func(stderr []byte, code int, err error) error {
		return &RunError{Host: h.Name, Command: cmd, Stderr: stderr, ExitCode: code, Err: err}
	}
	select {
	case h.sessions <- struct{}{}:
		defer func() { <-h.sessions }()
	case <-ctx.Done():
		return nil, fail(nil, -1, ctx.Err())
	}

	h.mu.Lock()
	h.runs++
	h.mu.Unlock()
	s, err := h.ssh.NewSession()
	if err != nil {
		return nil, fail(nil, -1, fmt.Errorf("open session: %w", err))
	}
	defer s.Close()
	var stdout, stderr bytes.Buffer
	s.Stdin, s.Stdout, s.Stderr = stdin, &stdout, &stderr
	if err := s.Start(cmd); err != nil {
		return nil, fail(nil, -1, err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()

	select {
	case err = <-done:
	case <-ctx.Done():
		// Not every sshd honours signals; closing the channel also ends
		// the command once it touches its stdio.
		s.Signal(ssh.SIGKILL)
		s.Close()
		select {
		case <-done:
			return stdout.Bytes(), fail(stderr.Bytes(), -1, ctx.Err())
		case <-time.After(killGrace):
			// The buffers may still be written to; leave them be.
			return nil, fail(nil, -1, ctx.Err())
		}
	}
	if err == nil {
		return stdout.Bytes(), nil
	}
	code := -1
	var ee *ssh.ExitError
	if errors.As(err, &ee) && ee.Signal() == "" {
		code = ee.ExitStatus()
	}
	return stdout.Bytes(), fail(stderr.Bytes(), code, err)
}
