package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/reconcile-dev/reconcile/reconcile"
	"github.com/reconcile-dev/reconcile/runtime"
)

type execOptions struct {
	ios       *IOStreams
	hosts     hostFlags
	namespace string
	container string
	stdin     bool
	tty       bool
	// terminal gives -t its local terminal; tests replace it.
	terminal func(in io.Reader, out io.Writer) (terminal, error)
}

func newExecCmd(ios *IOStreams) *cobra.Command {
	o := &execOptions{ios: ios, terminal: openTerminal}
	cmd := &cobra.Command{
		Use:   "exec (POD | deploy/NAME) [-c CONTAINER] [-i] [-t] -- COMMAND [ARGS...]",
		Short: "Run a command in a pod's container",
		Long: `Run a command in a container of a pod, through Docker's exec API on its host.
reconcile exits with the command's own exit code (so a script sees the
command's failure as it would inside the pod); its own failures use the
codes of the exit code table.

-i passes stdin to the command; -t gives it a terminal: the local terminal is
put in raw mode, its size is passed and follows resizes, and it is restored
when the command ends.`,
		Example: `  reconcile exec my-nginx-5c7b9f8d7-x2x7q --filename examples/nginx -- cat /etc/resolv.conf
  reconcile exec -it deploy/my-nginx --filename examples/nginx -- sh`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dash := cmd.ArgsLenAtDash()
			if dash != 1 || len(args) < 2 {
				return flagErrorf("exec needs a pod and a command after --: reconcile exec POD -- COMMAND [ARGS...]")
			}
			return runExec(cmd, o, args[0], args[1:])
		},
	}
	// kubectl exec's -f is --filename too, but keep logs and exec alike.
	registerWithout(cmd, "filename", o.hosts.register)
	fl := cmd.Flags()
	fl.StringVarP(&o.namespace, "namespace", "n", "default", "namespace of the pod")
	fl.StringVarP(&o.container, "container", "c", "", "container to run in (default: the pod's first container)")
	fl.BoolVarP(&o.stdin, "stdin", "i", false, "pass stdin to the command")
	fl.BoolVarP(&o.tty, "tty", "t", false, "give the command a terminal (with -i: an interactive shell)")
	return cmd
}

func runExec(cmd *cobra.Command, o *execOptions, target string, command []string) error {
	ref, err := reconcile.ParsePodRef(o.namespace, target)
	if err != nil {
		return flagErrorf("%v", err)
	}
	ctx, c, done, err := o.hosts.connected(cmd, o.ios)
	if err != nil {
		return err
	}
	defer done()

	req := reconcile.ExecRequest{Ref: ref, Container: o.container, ExecOptions: runtime.ExecOptions{
		Cmd: command, Stdout: o.ios.Out, Stderr: o.ios.ErrOut, TTY: o.tty,
	}}
	if o.stdin {
		req.Stdin = o.ios.In
	}
	if o.tty {
		t, err := o.terminal(o.ios.In, o.ios.Out)
		if err != nil {
			if !o.stdin {
				return fmt.Errorf("exec -t: %w", err)
			}
			// kubectl goes on without a terminal when stdin is none.
			fmt.Fprintf(o.ios.ErrOut, "Unable to use a TTY - input is not a terminal or the right kind of file\n")
			req.TTY = false
		} else {
			defer t.restore()
			if o.stdin {
				if err := t.makeRaw(); err != nil {
					return fmt.Errorf("exec -it: %w", err)
				}
			}
			req.Size = t.size()
			req.Resize = t.resizes(ctx)
		}
	}
	code, err := reconcile.Exec(ctx, c.desired.Cluster.Name, c.hosts, c.unreachable, req, o.ios.ErrOut)
	if err != nil {
		return err
	}
	if code != 0 {
		// The command's own exit code, passed through (exitcodes.go).
		return silent(code)
	}
	return nil
}
