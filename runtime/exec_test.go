package runtime

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func TestRun(t *testing.T) {
	h := dialTestHost(t, "node-2")
	tests := []struct {
		name     string
		stdin    string
		cmd      string
		want     string
		wantErr  string
		wantCode int
	}{
		{name: "stdout", cmd: "echo hello; echo world", want: "hello\nworld\n"},
		{name: "stdin", stdin: "piped\n", cmd: "tr a-z A-Z", want: "PIPED\n"},
		{name: "stderr is not stdout", cmd: "echo out; echo err >&2", want: "out\n"},
		{
			name:     "exit code and stderr",
			cmd:      "echo partial; echo one >&2; echo two >&2; echo three >&2; echo four >&2; exit 3",
			want:     "partial\n",
			wantErr:  `node-2: run "echo partial; echo one >&2; echo two >&2; echo three >&2; echo four >&2; exit 3": exit 3: two; three; four`,
			wantCode: 3,
		},
		{
			name:     "command not found",
			cmd:      "no-such-command-here",
			wantErr:  `node-2: run "no-such-command-here": exit 127: bash: line 1: no-such-command-here: command not found`,
			wantCode: 127,
		},
		{
			name:     "long command is shortened",
			cmd:      "false # " + strings.Repeat("x", 100),
			wantErr:  `node-2: run "false # ` + strings.Repeat("x", 69) + `...": exit 1`,
			wantCode: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdin *strings.Reader
			if tt.stdin != "" {
				stdin = strings.NewReader(tt.stdin)
			}
			var out []byte
			var err error
			if stdin != nil {
				out, err = h.Run(context.Background(), stdin, tt.cmd)
			} else {
				out, err = h.Run(context.Background(), nil, tt.cmd)
			}
			if string(out) != tt.want {
				t.Errorf("stdout = %q, want %q", out, tt.want)
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				return
			}
			var re *RunError
			if !errors.As(err, &re) {
				t.Fatalf("error %v (%T) is not a *RunError", err, err)
			}
			if re.Error() != tt.wantErr {
				t.Errorf("error:\n got: %s\nwant: %s", re.Error(), tt.wantErr)
			}
			if re.ExitCode != tt.wantCode || re.Host != "node-2" || re.Command != tt.cmd {
				t.Errorf("RunError = {%q %q %d}, want {node-2 %q %d}", re.Host, re.Command, re.ExitCode, tt.cmd, tt.wantCode)
			}
		})
	}
}

func TestRunContext(t *testing.T) {
	h := dialTestHost(t, "node-2")
	// A distinctive argument, so the test finds its own process only.
	marker := fmt.Sprintf("%d.%d", 1000+time.Now().UnixNano()%1000, time.Now().UnixNano()%1000)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := h.Run(ctx, nil, "sleep "+marker)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Run took %s after its context ended", d)
	}
	want := fmt.Sprintf(`node-2: run "sleep %s": context deadline exceeded`, marker)
	if err == nil || err.Error() != want || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want %s", err, want)
	}
	// The remote command must be gone, not left running on the host.
	deadline := time.Now().Add(3 * time.Second)
	for exec.Command("pgrep", "-f", "sleep "+marker).Run() == nil {
		if time.Now().After(deadline) {
			killByPgrep(t, "sleep "+marker)
			t.Fatalf("remote sleep %s still runs after the context ended", marker)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The connection stays usable.
	if out, err := h.Run(context.Background(), nil, "echo still"); err != nil || string(out) != "still\n" {
		t.Errorf("Run after cancel = %q, %v", out, err)
	}
}

// killByPgrep ends the test's own leftover, found by its unique command line.
func killByPgrep(t *testing.T, cmdline string) {
	out, _ := exec.Command("pgrep", "-f", "^"+cmdline+"$").Output()
	for f := range strings.FieldsSeq(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func TestRunManySessions(t *testing.T) {
	h := dialTestHost(t, "node-2")
	// More than sshd's MaxSessions at once: Run queues instead of failing.
	const n = 3 * maxSessions
	errs := make(chan error, n)
	for i := range n {
		go func() {
			out, err := h.Run(context.Background(), nil, fmt.Sprintf("sleep 0.1; echo %d", i))
			if err == nil && string(out) != fmt.Sprintf("%d\n", i) {
				err = fmt.Errorf("run %d: stdout %q", i, out)
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestRunErrorMessage(t *testing.T) {
	tests := []struct {
		name string
		err  *RunError
		want string
	}{
		{
			name: "exit without stderr",
			err:  &RunError{Host: "node-1", Command: "true", ExitCode: 1, Err: exitError(t, 1)},
			want: `node-1: run "true": exit 1`,
		},
		{
			name: "blank stderr lines are skipped",
			err:  &RunError{Host: "node-1", Command: "x", Stderr: []byte("\n  a  \n\n b\n\n"), ExitCode: 2, Err: exitError(t, 2)},
			want: `node-1: run "x": exit 2: a; b`,
		},
		{
			name: "not an exit",
			err:  &RunError{Host: "node-3", Command: "x", ExitCode: -1, Err: errors.New("open session: EOF")},
			want: `node-3: run "x": open session: EOF`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// exitError gets a real *ssh.ExitError, which has no exported constructor.
func exitError(t *testing.T, code int) error {
	t.Helper()
	h := dialTestHost(t, "exit")
	_, err := h.Run(context.Background(), nil, fmt.Sprintf("exit %d", code))
	var ee *ssh.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("exit %d: %v", code, err)
	}
	return ee
}
