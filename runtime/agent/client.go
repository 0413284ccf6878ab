package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/reconcile-dev/reconcile/runtime"
)

// Verb names one agent verb; its type parameters are the verb's request
// and response, so Call cannot send one verb the other's types.
type Verb[Req, Resp any] struct{ Name string }

// Runner runs a command on a host with stdin and returns its stdout;
// *runtime.Host is one.
type Runner interface {
	Run(ctx context.Context, stdin io.Reader, cmd string) ([]byte, error)
}

// Client is the node agent of one host.
type Client struct {
	Node   string // for error messages
	Runner Runner
	Bin    string // the agent binary's path on the host
}

// Call sends req to the host's agent and decodes its answer.
func Call[Req, Resp any](ctx context.Context, c Client, v Verb[Req, Resp], req Req) (Resp, error) {
	var resp Resp
	var payload []byte
	if d, ok := any(&req).(detacher); ok {
		payload = d.detach()
	}
	in, err := json.Marshal(req)
	if err != nil {
		return resp, fmt.Errorf("%s: agent %s: %w", c.Node, v.Name, err)
	}
	out, err := c.Runner.Run(ctx, io.MultiReader(bytes.NewReader(in), bytes.NewReader(payload)), c.Bin+" node "+v.Name)
	if err != nil {
		return resp, runError(c.Node, v.Name, err)
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		return resp, fmt.Errorf("%s: agent %s answered %q: %w", c.Node, v.Name, truncate(string(out), 200), err)
	}
	return resp, nil
}

// detacher is a request whose large contents travel after its JSON
// (payload.go); the verb's handler attaches them again.
type detacher interface {
	detach() []byte
	attach(io.Reader) error
}

// ExitFenced is the agent's exit code for a write it refused because the
// sender does not hold the host's lock (the CLI's ExitLocked).
const ExitFenced = 6

// Error is a verb the agent failed, with what it said on stderr.
type Error struct {
	Node, Verb string
	Stderr     string // the agent's own message (its last lines)
	Err        error  // the run's error (exit status, SSH failure)
	// Fenced: the host refused a write because the sender's run lock is
	// not the one it holds; the sender must stop acting.
	Fenced bool
}

func (e *Error) Error() string {
	if e.Stderr != "" {
		return fmt.Sprintf("%s: agent %s: %s", e.Node, e.Verb, e.Stderr)
	}
	return fmt.Sprintf("%s: agent %s: %v", e.Node, e.Verb, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// runError keeps the agent's own complaint, which says why, and drops the
// command line, which only says how it was run.
func runError(node, verb string, err error) error {
	var re *runtime.RunError
	if !errors.As(err, &re) {
		return &Error{Node: node, Verb: verb, Err: err}
	}
	var lines []string
	for l := range strings.SplitSeq(string(re.Stderr), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, strings.TrimPrefix(l, "error: "))
		}
	}
	if len(lines) > 3 {
		lines = lines[len(lines)-3:]
	}
	return &Error{Node: node, Verb: verb, Stderr: strings.Join(lines, "; "), Err: re.Err, Fenced: re.ExitCode == ExitFenced}
}

func truncate(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
