// Package cli wires reconcile's cobra commands to the domain packages. Each
// command holds an options struct with its streams and flags, and a run
// function that does the work, so output is tested exactly.
package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// Run executes the CLI with args and returns the process exit code.
func Run(args []string, ios *IOStreams) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	root := newRootCmd(ios)
	root.SetArgs(args)
	root.SetIn(ios.In)
	root.SetOut(ios.Out)
	root.SetErr(ios.ErrOut)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var fe *flagError
	if errors.As(err, &fe) {
		fmt.Fprintf(ios.ErrOut, "error: %v\nSee '%s --help'.\n", err, commandPath(root, args))
		return ExitError
	}
	// cobra's suggestions ("Did you mean this?") end in a newline already.
	var done *exitError
	if msg := strings.TrimRight(err.Error(), "\n"); msg != "" && !errors.As(err, &done) {
		fmt.Fprintf(ios.ErrOut, "error: %s\n", msg)
	}
	return exitCode(err)
}

// logs are the global --log-format and -v settings.
var logs logFlags

func newRootCmd(ios *IOStreams) *cobra.Command {
	logs = logFlags{}
	root := &cobra.Command{
		Use:   "reconcile",
		Short: "Converge Docker hosts to the Kubernetes manifests in a git repository",
		Long: `reconcile pulls Deployments and Services from a git repository, compares them
with what runs on your Docker hosts (reached over SSH), and makes the hosts match:
pods on host-routed pod IPs, a stable virtual ClusterIP per Service, and an
endpoints file on every host.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &flagError{err} })
	logs.register(root)
	root.PersistentFlags().String("context", "", "take unset connection flags from this context (see reconcile config) [env "+contextEnv+"]")
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if err := logs.check(); err != nil {
			return err
		}
		return applyDefaults(cmd, os.Getenv)
	}
	root.AddCommand(
		newVersionCmd(ios),
		newValidateCmd(ios),
		newRenderCmd(ios),
		newExposeCmd(ios),
		newDiffCmd(ios),
		newApplyCmd(ios),
		newSyncCmd(ios),
		newGetCmd(ios),
		newRolloutCmd(ios),
		newDescribeCmd(ios),
		newNodeCmd(ios),
		newProbeCmd(ios),
		newLogsCmd(ios),
		newExecCmd(ios),
		newConfigCmd(ios),
		newCrdCmd(ios),
	)
	noteEnv(root)
	return root
}

// commandPath names the subcommand the user ran, for the usage hint.
func commandPath(root *cobra.Command, args []string) string {
	if c, _, err := root.Find(args); err == nil && c != nil {
		return c.CommandPath()
	}
	return root.Name()
}
