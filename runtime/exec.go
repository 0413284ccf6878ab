package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
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

	what string // says what the command was for, in place of a long script
}

func (e *RunError) Error() string {
	var b strings.Builder
	if e.what != "" {
		fmt.Fprintf(&b, "%s: %s: ", e.Host, e.what)
	} else {
		cmd := e.Command
		if len(cmd) > 80 {
			cmd = cmd[:77] + "..."
		}
		fmt.Fprintf(&b, "%s: run %q: ", e.Host, cmd)
	}
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
	return h.run(ctx, stdin, cmd, "")
}

// run is Run with a description for the error message.
func (h *Host) run(ctx context.Context, stdin io.Reader, cmd, what string) ([]byte, error) {
	fail := func(stderr []byte, code int, err error) error {
		return &RunError{Host: h.Name, Command: cmd, Stderr: stderr, ExitCode: code, Err: err, what: what}
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
	pid := &pidSniffer{w: &stderr}
	s.Stdin, s.Stdout, s.Stderr = stdin, &stdout, pid
	if err := s.Start(pidPrologue + cmd); err != nil {
		return nil, fail(nil, -1, err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()

	select {
	case err = <-done:
	case <-ctx.Done():
		h.kill(pid.get())
		s.Signal(ssh.SIGKILL)
		s.Close()
		select {
		case <-done:
			pid.flush()
			return stdout.Bytes(), fail(stderr.Bytes(), -1, ctx.Err())
		case <-time.After(killGrace):
			// The buffers may still be written to; leave them be.
			return nil, fail(nil, -1, ctx.Err())
		}
	}
	pid.flush()
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

// pidPrologue makes the remote shell report its pid on stderr before it runs
// the command. sshd makes that shell a session leader, so its pid is also
// the process group of everything the command starts, and Run can kill the
// lot when ctx ends. Signals over the channel are no substitute: OpenSSH
// refuses them for root logins ("session signalling requires privilege
// separation"), and closing the channel leaves a command that is not
// writing to it running.
const pidPrologue = "echo " + pidMarker + "$$ >&2; "

const pidMarker = "@reconcile-run-pid "

// kill ends a remote process group from a second session, since the first
// one is busy running it.
func (h *Host) kill(pid int) {
	if pid <= 1 {
		return
	}
	s, err := h.ssh.NewSession()
	if err != nil {
		return
	}
	defer s.Close()
	done := make(chan struct{})
	go func() {
		s.Run(fmt.Sprintf("kill -KILL -- -%d 2>/dev/null || kill -KILL %d", pid, pid))
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(killGrace):
	}
}

// pidSniffer takes the prologue's line off the front of stderr and passes
// the rest through.
type pidSniffer struct {
	w    io.Writer
	mu   sync.Mutex
	done bool
	head []byte
	pid  int
}

func (p *pidSniffer) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return p.w.Write(b)
	}
	p.head = append(p.head, b...)
	i := bytes.IndexByte(p.head, '\n')
	if i < 0 && len(p.head) < len(pidMarker)+20 {
		return len(b), nil
	}
	p.done = true
	rest := p.head
	if i >= 0 {
		if v, ok := strings.CutPrefix(string(p.head[:i]), pidMarker); ok {
			p.pid, _ = strconv.Atoi(v)
			rest = p.head[i+1:]
		}
	}
	p.head = nil
	if _, err := p.w.Write(rest); err != nil {
		return 0, err
	}
	return len(b), nil
}

func (p *pidSniffer) get() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pid
}

// flush passes on what a command wrote to stderr that was too short to
// tell apart from the prologue.
func (p *pidSniffer) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.done {
		p.done = true
		p.w.Write(p.head)
		p.head = nil
	}
}
