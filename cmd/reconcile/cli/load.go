package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/reconcile-dev/reconcile/reconcile"
	"github.com/reconcile-dev/reconcile/resources"
)

// loadDesired reads the manifests and reports validation problems, one per
// line, before anything else happens. Warnings go to ErrOut.
func loadDesired(ctx context.Context, ios *IOStreams, sf *sourceFlags) (*reconcile.Desired, error) {
	o := sf.options()
	if logs.verbose || ios.ErrIsTerminal {
		o.Log = ios.ErrOut // git progress: quiet in CI logs unless -v
	}
	d, err := reconcile.LoadDesired(ctx, o)
	if err != nil {
		var list resources.ErrorList
		if errors.As(err, &list) {
			for _, e := range list {
				fmt.Fprintf(ios.ErrOut, "error: %s\n", e)
			}
			fmt.Fprintf(ios.ErrOut, "%d %s found; nothing was changed\n", list.Count(), plural(list.Count(), "problem", "problems"))
			return nil, reported(list)
		}
		if errors.Is(err, reconcile.ErrNoSource) {
			return nil, &flagError{err}
		}
		return nil, err
	}
	for _, w := range d.Warnings {
		fmt.Fprintf(ios.ErrOut, "warning: %s\n", w)
	}
	return d, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
