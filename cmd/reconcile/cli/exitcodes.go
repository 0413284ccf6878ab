package cli

import (
	"errors"
	"fmt"

	rnet "github.com/reconcile-dev/reconcile/net"
	"github.com/reconcile-dev/reconcile/reconcile"
	"github.com/reconcile-dev/reconcile/resources"
	"github.com/reconcile-dev/reconcile/runtime/agent"
)

// Exit codes are part of the CLI's contract with CI scripts; the README
// documents this table. diff follows kubectl diff: 0 in sync, 1 changes
// pending, 2 and up errors.
const (
	ExitOK          = 0
	ExitChanges     = 1 // diff: changes pending
	ExitError       = 2 // any other failure, including bad flags
	ExitInvalid     = 3 // the manifests are invalid or cannot be allocated; nothing was changed
	ExitUnreachable = 4 // one or more hosts could not be reached or changed, or none could be used
	ExitRollout     = 5 // a rollout did not become available in time
	ExitLocked      = 6 // another run holds the lock, or this run lost it
)

// exec is the exception: once the command ran, reconcile exits with the
// command's own exit code (as kubectl exec does), so 1 to 6 from exec may
// be the command's. Failures before the command runs (no such pod, an
// unreachable host) use the table above.

// The node agent's refusal of a fenced write is ExitLocked; its client
// recognizes it by that code.
var _ = [1]struct{}{}[ExitLocked-agent.ExitFenced]

// exitCode maps an error to the process exit code: the one table every
// command's error goes through. The domain's typed errors say what kind of
// failure it was; only this function turns that into a number.
func exitCode(err error) int {
	var (
		coded   *exitError
		usage   *flagError
		list    resources.ErrorList
		invalid *reconcile.InvalidError
		alloc   *reconcile.AllocationError
		locked  *reconcile.LockedError
		fenced  *rnet.FenceError
		rollout *reconcile.RolloutError
		unreach *reconcile.UnreachableError
		quorum  *reconcile.NoQuorumError
		empty   *reconcile.EmptyPruneError
		sources *reconcile.SourceConflictError
		key     *reconcile.KeyError
	)
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &coded) && coded.code != 0:
		return coded.code
	case errors.As(err, &usage), errors.As(err, &key):
		return ExitError
	case errors.As(err, &list), errors.As(err, &invalid), errors.As(err, &alloc),
		errors.As(err, &empty), errors.As(err, &sources):
		return ExitInvalid
	case errors.As(err, &locked), errors.As(err, &fenced), errors.Is(err, reconcile.ErrLockLost):
		return ExitLocked
	case errors.As(err, &rollout):
		return ExitRollout
	case errors.As(err, &unreach), errors.As(err, &quorum), errors.Is(err, reconcile.ErrNoHosts):
		return ExitUnreachable
	}
	return ExitError
}

// exitError is an error that was already printed (err is kept for its
// kind), or an exit code that is not a failure's kind (diff's 1, the
// probe's own codes).
type exitError struct {
	code int // 0: take it from exitCode(err)
	err  error
}

func (e *exitError) Error() string { return "" }
func (e *exitError) Unwrap() error { return e.err }

// reported is err, already printed: Run prints nothing more and exits with
// err's code.
func reported(err error) error {
	if err == nil {
		return nil
	}
	return &exitError{err: err}
}

// silent is an exit code whose reason has already been printed.
func silent(code int) error { return &exitError{code: code} }

// flagError marks a usage problem; cobra's usage hint is printed for it.
type flagError struct{ err error }

func (e *flagError) Error() string { return e.err.Error() }
func (e *flagError) Unwrap() error { return e.err }

func flagErrorf(format string, args ...any) error {
	return &flagError{fmt.Errorf(format, args...)}
}
