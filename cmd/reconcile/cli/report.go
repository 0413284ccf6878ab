package cli

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/reconcile-dev/reconcile/reconcile"
)

// logFlags are global: how progress and logs reach ErrOut.
type logFlags struct {
	format  string
	verbose bool
}

// check rejects an unknown --log-format for every command, before it runs.
func (f *logFlags) check() error {
	switch f.format {
	case "text", "", "json":
		return nil
	}
	return flagErrorf("unknown --log-format %q: use text or json", f.format)
}

func (f *logFlags) register(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&f.format, "log-format", "text", "progress and log format on stderr: text or json")
	cmd.PersistentFlags().BoolVarP(&f.verbose, "verbose", "v", false, "show every host-side change (each rule chain, hairpin port, sysctl)")
}

// reporter turns progress events into lines for people or JSON records for
// machines. Text mode is quiet unless stderr is a terminal or -v is given
// (CI logs get the summary and errors); it then shows pods, networks,
// routes and files, and the many per-chain rule changes only with -v.
type reporter struct {
	ios      *IOStreams
	log      *slog.Logger
	json     bool
	verbose  bool
	progress bool // print progress lines in text mode
	mu       sync.Mutex
}

func newReporter(ios *IOStreams, f *logFlags) (*reporter, error) {
	r := &reporter{ios: ios, verbose: f.verbose, progress: f.verbose || ios.ErrIsTerminal}
	level := slog.LevelInfo
	if f.verbose {
		level = slog.LevelDebug
	}
	switch f.format {
	case "text", "":
		r.log = slog.New(newPlainHandler(ios.ErrOut, level))
	case "json":
		r.json = true
		r.log = slog.New(slog.NewJSONHandler(ios.ErrOut, &slog.HandlerOptions{Level: level}))
	default:
		return nil, flagErrorf("unknown --log-format %q: use text or json", f.format)
	}
	return r, nil
}

func (r *reporter) event(e reconcile.Event) {
	kind, _, _ := strings.Cut(e.Object, "/")
	detailed := kind == "chain" || kind == "rules" || kind == "hook" || kind == "hairpin" || kind == "sysctl"
	if e.Action == "warning" {
		e.Detail = strings.TrimPrefix(e.Detail, e.Node+": ") // the line names the node already
		if r.json {
			r.log.Warn(e.Detail, "node", e.Node, "object", e.Object)
		} else {
			r.mu.Lock()
			fmt.Fprintf(r.ios.ErrOut, "warning: %s: %s: %s\n", e.Node, e.Object, e.Detail)
			r.mu.Unlock()
		}
		return
	}
	if r.json {
		level := slog.LevelInfo
		if detailed {
			level = slog.LevelDebug
		}
		r.log.Log(context.Background(), level, "change", "node", e.Node, "object", e.Object, "action", e.Action, "detail", e.Detail)
		return
	}
	if !r.progress || detailed && !r.verbose {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	printEvent(r.ios, e)
}

// line prints a message for people, or logs it as a record in json mode.
func (r *reporter) line(msg string, args ...any) {
	if r.json {
		r.log.Info(msg, args...)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintln(r.ios.ErrOut, msg)
}
