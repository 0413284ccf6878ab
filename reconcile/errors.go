package reconcile

import (
	"errors"
	"fmt"
	"strings"
)

// The errors a run ends with, by kind, so that the CLI maps each kind to one
// exit code in one place. Others: *LockedError, *NoQuorumError and
// ErrLockLost (lock.go), *AllocationError (allocate.go), and
// resources.ErrorList for manifests that do not validate.

// ErrNoHosts means no node of the cluster could run pods.
var ErrNoHosts = errors.New("no usable host")

// InvalidError is desired state that cannot be applied as written (no
// Cluster, an unsupported field): nothing was changed.
type InvalidError struct{ Err error }

func (e *InvalidError) Error() string { return e.Err.Error() }
func (e *InvalidError) Unwrap() error { return e.Err }

// RolloutError says Deployments did not become available; its text also
// names the nodes that could not be reached meanwhile.
type RolloutError struct {
	Failures []RolloutFailure
	msg      string
}

func (e *RolloutError) Error() string { return e.msg }

// UnreachableError names nodes that could not be read or changed.
type UnreachableError struct {
	Nodes []NodeError
	msg   string
}

func (e *UnreachableError) Error() string { return e.msg }

// Unreachable is the error for nodes that could not be reached. Each
// node's error names the node already (runtime and the agent say where they
// failed), so it is printed once.
func Unreachable(nodes []NodeError) *UnreachableError {
	lines := make([]string, len(nodes))
	for i, n := range nodes {
		lines[i] = "unreachable: " + n.String()
	}
	return &UnreachableError{Nodes: nodes, msg: strings.Join(lines, "\n")}
}

// opError is an operation that failed on a node. Errors from runtime and
// the agent start with the node's name already; it is not repeated.
type opError struct {
	node, op string
	err      error
}

func (e *opError) Error() string {
	msg, _ := strings.CutPrefix(e.err.Error(), e.node+": ")
	return fmt.Sprintf("%s: %s: %s", e.node, e.op, msg)
}

func (e *opError) Unwrap() error { return e.err }
