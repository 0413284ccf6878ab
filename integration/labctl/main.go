// Command labctl runs the integration lab by hand:
//
//	go run ./integration/labctl up [-n 3] [-name rcl]
//	go run ./integration/labctl status [-name rcl]
//	go run ./integration/labctl exec [-name rcl] node-1 -- docker ps
//	go run ./integration/labctl down [-name rcl]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/reconcile-dev/reconcile/integration/lab"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "labctl:", err)
		os.Exit(1)
	}
}

const usage = `usage: labctl up [-n HOSTS] [-name NAME] | status [-name NAME] | down [-name NAME] | exec [-name NAME] HOST -- CMD [ARG]`

func run(ctx context.Context, args []string, out, errOut io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(errOut)
	name := fs.String("name", lab.DefaultName, "lab name")
	hosts := fs.Int("n", lab.DefaultHosts, "number of hosts (up)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	switch args[0] {
	case "up":
		start := time.Now()
		l, err := lab.Up(ctx, lab.Config{Name: *name, Hosts: *hosts})
		if err != nil {
			return err
		}
		fmt.Fprintf(errOut, "lab %s up in %s\n", l.Name, time.Since(start).Round(time.Millisecond))
		printLab(out, l)
		return nil
	case "status":
		l, err := lab.Load(*name)
		if err != nil {
			return err
		}
		printLab(out, l)
		if err := l.Check(ctx); err != nil {
			return fmt.Errorf("lab %s is not healthy: %w (run: labctl up)", l.Name, err)
		}
		fmt.Fprintln(out, "status:     healthy")
		return nil
	case "down":
		if err := lab.Down(*name); err != nil {
			return err
		}
		fmt.Fprintf(errOut, "lab %s down\n", *name)
		return nil
	case "exec":
		rest := fs.Args()
		if len(rest) >= 2 && rest[1] == "--" {
			rest = append(rest[:1], rest[2:]...)
		}
		if len(rest) < 2 {
			return errors.New(usage)
		}
		l, err := lab.Load(*name)
		if err != nil {
			return err
		}
		b, err := l.Exec(ctx, rest[0], rest[1:]...)
		out.Write(b)
		return err
	}
	return errors.New(usage)
}

func printLab(out io.Writer, l *lab.Lab) {
	fmt.Fprintf(out, "lab:        %s (%s)\n", l.Name, l.Dir)
	fmt.Fprintf(out, "cluster:    %s\n", l.ClusterFile)
	fmt.Fprintf(out, "ssh_config: %s\n", l.SSHConfig)
	fmt.Fprintf(out, "key:        %s\n", l.KeyFile)
	fmt.Fprintf(out, "known_hosts: %s\n", l.KnownHosts)
	fmt.Fprintf(out, "git:        %s (GIT_SSH_COMMAND=%q)\n", l.GitURL, l.GitSSHCommand())
	fmt.Fprintf(out, "startup:    %s\n", l.StartupTime.Round(time.Millisecond))
	for _, h := range l.Hosts {
		fmt.Fprintf(out, "host:       %s %s netns=%s pid=%d\n", h.Name, h.IP, h.NetNS, h.PID)
	}
	fmt.Fprintf(out, "try:        ssh -F %s node-1 docker info\n", l.SSHConfig)
}
