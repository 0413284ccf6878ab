package agent

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	rnet "github.com/reconcile-dev/reconcile/net"
	"github.com/reconcile-dev/reconcile/runtime"
)

// fakeRunner answers one command, recording what it was sent.
type fakeRunner struct {
	cmd, stdin string
	out        string
	err        error
}

func (f *fakeRunner) Run(_ context.Context, stdin io.Reader, cmd string) ([]byte, error) {
	b, _ := io.ReadAll(stdin)
	f.cmd, f.stdin = cmd, string(b)
	return []byte(f.out), f.err
}

func TestCall(t *testing.T) {
	exit := func(code int, stderr string) error {
		return &runtime.RunError{Host: "node-1", Command: "/bin/reconcile node apply", Stderr: []byte(stderr), ExitCode: code, Err: errors.New("exit status")}
	}
	tests := []struct {
		name       string
		out        string
		err        error
		wantErr    string
		wantFenced bool
	}{
		{name: "ok", out: `{"node":"node-1","changes":[],"drift":false}`},
		{name: "agent failed", err: exit(2, "error: iptables-restore: line 3 failed\n"),
			wantErr: "node-1: agent apply: iptables-restore: line 3 failed"},
		{name: "fenced", err: exit(ExitFenced, "error: refused: the lock is held by sync by cron pid 3 since 2025-03-01T12:00:00Z, not by this run; nothing was changed\n"),
			wantErr: "node-1: agent apply: refused: the lock is held by sync by cron pid 3 since 2025-03-01T12:00:00Z, not by this run; nothing was changed", wantFenced: true},
		{name: "ssh failed", err: errors.New("node-1: ssh: connection reset"),
			wantErr: "node-1: agent apply: node-1: ssh: connection reset"},
		{name: "not json", out: "bash: reconcile: command not found",
			wantErr: `node-1: agent apply answered "bash: reconcile: command not found": invalid character 'b' looking for beginning of value`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &fakeRunner{out: tc.out, err: tc.err}
			c := Client{Node: "node-1", Runner: r, Bin: "/bin/reconcile"}
			res, err := Call(context.Background(), c, Apply, ApplyRequest{Config: rnet.NodeConfig{Node: "node-1"}, Fence: "f00"})
			if r.cmd != "/bin/reconcile node apply" {
				t.Errorf("ran %q", r.cmd)
			}
			// The wire format: {"config":{...},"dryRun":...,"fence":...}.
			if !strings.HasPrefix(r.stdin, `{"config":{`) || !strings.HasSuffix(r.stdin, `},"dryRun":false,"fence":"f00"}`) {
				t.Errorf("sent %s", r.stdin)
			}
			if got := errString(err); got != tc.wantErr {
				t.Errorf("error\n got %s\nwant %s", got, tc.wantErr)
			}
			var ae *Error
			if fenced := errors.As(err, &ae) && ae.Fenced; fenced != tc.wantFenced {
				t.Errorf("fenced %v, want %v", fenced, tc.wantFenced)
			}
			if err == nil && res.Node != "node-1" {
				t.Errorf("result %+v", res)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
