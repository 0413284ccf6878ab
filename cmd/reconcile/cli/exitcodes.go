package cli

import (
	"errors"
	"fmt"
)

// Exit codes are part of the CLI's contract with CI scripts; the README
// documents this table. diff follows kubectl diff: 0 in sync, 1 changes
// pending, 2 and up errors.
const (
	ExitOK          = 0
	ExitChanges     = 1 // diff: changes pending
	ExitError       = 2 // any other failure, including bad flags
	ExitInvalid     = 3 // the manifests are invalid; nothing was changed
	ExitUnreachable = 4 // one or more hosts could not be reached or changed
	ExitRollout     = 5 // a rollout did not become available in time
	ExitLocked      = 6 // another run holds the lock
)

// ExitError carries an exit code up to Run, with the message to print (empty
// for errors that were already reported).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// withCode attaches an exit code to err.
func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
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

// exitCode maps an error to the process exit code, in one place.
func exitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return ExitError
}
