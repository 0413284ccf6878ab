package cli

import (
	"context"
	"errors"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/reconcile-dev/reconcile/reconcile"
)

type logsOptions struct {
	ios       *IOStreams
	hosts     hostFlags
	namespace string
	req       reconcile.LogsRequest
	since     time.Duration
	sinceTime string
	prefix    bool
}

func newLogsCmd(ios *IOStreams) *cobra.Command {
	o := &logsOptions{ios: ios}
	cmd := &cobra.Command{
		Use:   "logs (POD | deploy/NAME) [-c CONTAINER]",
		Short: "Print the logs of a pod's container, or of every pod of a Deployment",
		Long: `Print the logs of a container in a pod, read from Docker's log API on its host.
deploy/NAME prints every pod of the Deployment, each line prefixed with
[pod/NAME/CONTAINER]; -f follows them on all hosts at once until Ctrl-C.

As in kubectl, -f is --follow here: name the manifests with --filename DIR
(or --repo) instead.`,
		Example: `  reconcile logs my-nginx-5c7b9f8d7-x2x7q --filename examples/nginx
  reconcile logs deploy/my-nginx -f --since 10m --filename examples/nginx
  reconcile logs my-nginx-5c7b9f8d7-x2x7q --previous --filename examples/nginx`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runLogs(cmd, o, args[0]) },
	}
	// kubectl's -f is --follow; --filename keeps only its long form here.
	registerWithout(cmd, "filename", o.hosts.register)
	fl := cmd.Flags()
	fl.StringVarP(&o.namespace, "namespace", "n", "default", "namespace of the pod")
	fl.StringVarP(&o.req.Container, "container", "c", "", "container to print (default: the pod's first container)")
	fl.BoolVar(&o.req.AllContainers, "all-containers", false, "print every container of the pods, init containers first")
	fl.BoolVarP(&o.req.Follow, "follow", "f", false, "stream the logs until Ctrl-C (every pod, on all hosts in parallel)")
	fl.IntVar(&o.req.Tail, "tail", -1, "lines of recent log to print per container; -1 means all")
	fl.DurationVar(&o.since, "since", 0, "only logs newer than this duration, e.g. 10m or 1h")
	fl.StringVar(&o.sinceTime, "since-time", "", "only logs after this RFC3339 time")
	fl.BoolVar(&o.req.Timestamps, "timestamps", false, "start each line with its RFC3339Nano timestamp")
	fl.BoolVarP(&o.req.Previous, "previous", "p", false, "print the last terminated instance of the container")
	fl.BoolVar(&o.prefix, "prefix", false, "start each line with [pod/NAME/CONTAINER] (always on for deploy/NAME)")
	return cmd
}

// registerWithout registers flags through reg, with name losing its
// one-letter form (for a command where kubectl gives that letter another
// meaning).
func registerWithout(cmd *cobra.Command, name string, reg func(*cobra.Command)) {
	tmp := &cobra.Command{}
	reg(tmp)
	tmp.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Name == name {
			f.Shorthand = ""
		}
		cmd.Flags().AddFlag(f)
	})
}

func runLogs(cmd *cobra.Command, o *logsOptions, arg string) error {
	ref, err := reconcile.ParsePodRef(o.namespace, arg)
	if err != nil {
		return flagErrorf("%v", err)
	}
	req := o.req
	req.Ref = ref
	req.Prefix = o.prefix || ref.Deployment != ""
	switch {
	case o.since != 0 && o.sinceTime != "":
		return flagErrorf("--since and --since-time cannot be used together")
	case o.since < 0:
		return flagErrorf("--since must be positive, got %s", o.since)
	case o.since > 0:
		req.Since = time.Now().Add(-o.since)
	case o.sinceTime != "":
		t, err := time.Parse(time.RFC3339, o.sinceTime)
		if err != nil {
			return flagErrorf("--since-time %q is not an RFC3339 time (e.g. 2024-05-01T10:00:00Z)", o.sinceTime)
		}
		req.Since = t
	}
	if req.Tail < -1 {
		return flagErrorf("--tail must be -1 (all) or more, got %d", req.Tail)
	}
	if req.Previous && req.Follow {
		return flagErrorf("--previous and --follow cannot be used together: a terminated container writes no more")
	}
	if req.AllContainers && req.Container != "" {
		return flagErrorf("--all-containers and --container cannot be used together")
	}
	ctx, c, done, err := o.hosts.connected(cmd, o.ios)
	if err != nil {
		return err
	}
	defer done()
	err = reconcile.Logs(ctx, c.desired.Cluster.Name, c.hosts, c.unreachable, req, o.ios.Out, o.ios.ErrOut)
	if errors.Is(err, context.Canceled) && cmd.Context().Err() != nil {
		// Ctrl-C or SIGTERM ends a follow: that is how it is meant to end.
		return nil
	}
	return err
}
