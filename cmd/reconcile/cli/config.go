package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/reconcile-dev/reconcile/internal/userconfig"
)

// configOptions are shared by the config subcommands: the streams and where
// the file is (a function, so tests point it at a temporary directory).
type configOptions struct {
	ios  *IOStreams
	path func() (string, error)
}

func (o *configOptions) load() (string, *userconfig.Config, error) {
	p, err := o.path()
	if err != nil {
		return "", nil, err
	}
	c, err := userconfig.Load(p)
	return p, c, err
}

func newConfigCmd(ios *IOStreams) *cobra.Command {
	o := &configOptions{ios: ios, path: func() (string, error) { return configFile(os.Getenv) }}
	cmd := &cobra.Command{
		Use:   "config SUBCOMMAND",
		Short: "Manage contexts: stored connection flags, like kubectl config",
		Long: `A context is a named set of the connection flags (--repo, --path, --cluster,
-F, -f, ...), stored in $XDG_CONFIG_HOME/reconcile/config.yaml (default
~/.config/reconcile/config.yaml). After 'config use-context NAME', every command
takes its unset flags from that context. Precedence: a flag on the command line,
then its RECONCILE_* environment variable, then the context, then the default.
--context NAME (or $RECONCILE_CONTEXT) picks another context for one command.`,
		Annotations: map[string]string{noDefaultsAnnotation: "yes"},
	}
	for _, c := range []*cobra.Command{
		newSetContextCmd(o), newUseContextCmd(o), newGetContextsCmd(o),
		newCurrentContextCmd(o), newDeleteContextCmd(o), newViewConfigCmd(o),
	} {
		if c.Annotations == nil {
			c.Annotations = map[string]string{}
		}
		c.Annotations[noDefaultsAnnotation] = "yes"
		cmd.AddCommand(c)
	}
	return cmd
}

func newSetContextCmd(o *configOptions) *cobra.Command {
	vals := map[string]any{}
	cmd := &cobra.Command{
		Use:   "set-context NAME [flags]",
		Short: "Create a context, or change the flags it stores",
		Long: `Stores the given connection flags in the named context, creating it if needed;
the flags not given keep their stored values, and a flag given as "" is removed.
Relative paths are made absolute now, so the context works from any directory.`,
		Example: `  reconcile config set-context lab --repo ssh://git@git.example/app.git --path prod --cluster cluster.yaml -F ~/.ssh/lab_config
  reconcile config set-context lab --ref v1.2.0
  reconcile config set-context dev -f ./manifests --cluster ./cluster.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runSetContext(cmd, o, args[0], vals) },
	}
	fl := cmd.Flags()
	for _, c := range connFlags {
		short := map[string]string{"filename": "f", "ssh-config": "F", "namespace": "n"}[c.name]
		help := "store --" + c.name
		switch c.kind {
		case connBool:
			vals[c.name] = fl.BoolP(c.name, short, false, help)
		case connList, connPathList:
			vals[c.name] = fl.StringArrayP(c.name, short, nil, help+" (repeatable)")
		default:
			vals[c.name] = fl.StringP(c.name, short, "", help)
		}
	}
	// --revision is what Argo CD and Flux users call --ref.
	vals["revision"] = fl.String("revision", "", "same as --ref")
	return cmd
}

func runSetContext(cmd *cobra.Command, o *configOptions, name string, vals map[string]any) error {
	if err := userconfig.CheckName(name); err != nil {
		return flagErrorf("%v", err)
	}
	fl := cmd.Flags()
	if fl.Changed("revision") {
		if fl.Changed("ref") {
			return flagErrorf("--ref and --revision are the same setting: give one")
		}
		*vals["ref"].(*string) = *vals["revision"].(*string)
		fl.Lookup("ref").Changed = true
	}
	p, cfg, err := o.load()
	if err != nil {
		return err
	}
	x, created := cfg.Upsert(name)
	for _, c := range connFlags {
		if !fl.Changed(c.name) {
			continue
		}
		var v []string
		switch p := vals[c.name].(type) {
		case *bool:
			if *p {
				v = []string{"true"}
			}
		case *[]string:
			v = *p
		case *string:
			v = []string{*p}
		}
		if c.name == "timeout" && v[0] != "" {
			if _, err := time.ParseDuration(v[0]); err != nil {
				return flagErrorf("--timeout %q: %v", v[0], err)
			}
		}
		sv, err := storedValue(c, v)
		if err != nil {
			return flagErrorf("--%s: %v", c.name, err)
		}
		x.Set(c.name, sv)
		// One source per context: a new -f drops a stored --repo and the
		// reverse, as they would on the command line.
		if len(x.Settings[c.name]) > 0 && (c.name == "filename" || c.name == "repo") {
			for _, r := range c.replaces {
				if !fl.Changed(r) {
					x.Set(r, nil)
				}
			}
		}
	}
	if x.Get("filename") != "" && x.Get("repo") != "" {
		return flagErrorf("a context reads manifests from -f or --repo, not both")
	}
	if err := cfg.Save(p); err != nil {
		return err
	}
	if created {
		fmt.Fprintf(o.ios.Out, "Context %q created.\n", name)
	} else {
		fmt.Fprintf(o.ios.Out, "Context %q modified.\n", name)
	}
	return nil
}

func newUseContextCmd(o *configOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "use-context NAME",
		Short: "Make NAME the current context",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			p, cfg, err := o.load()
			if err != nil {
				return err
			}
			if cfg.Context(args[0]) == nil {
				return fmt.Errorf("no context exists with the name: %q (see reconcile config get-contexts)", args[0])
			}
			cfg.CurrentContext = args[0]
			if err := cfg.Save(p); err != nil {
				return err
			}
			fmt.Fprintf(o.ios.Out, "Switched to context %q.\n", args[0])
			return nil
		},
	}
}

func newCurrentContextCmd(o *configOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "current-context",
		Short: "Print the current context's name",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, cfg, err := o.load()
			if err != nil {
				return err
			}
			if cfg.CurrentContext == "" {
				return fmt.Errorf("current-context is not set")
			}
			fmt.Fprintln(o.ios.Out, cfg.CurrentContext)
			return nil
		},
	}
}

func newDeleteContextCmd(o *configOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "delete-context NAME",
		Short: "Delete a context",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			p, cfg, err := o.load()
			if err != nil {
				return err
			}
			if !cfg.Delete(args[0]) {
				return fmt.Errorf("cannot delete context %s, not in %s", args[0], p)
			}
			if err := cfg.Save(p); err != nil {
				return err
			}
			if cfg.CurrentContext == args[0] {
				fmt.Fprintf(o.ios.ErrOut, "warning: this removed your active context, use \"reconcile config use-context\" to select a different one\n")
			}
			fmt.Fprintf(o.ios.Out, "deleted context %s from %s\n", args[0], p)
			return nil
		},
	}
}

func newGetContextsCmd(o *configOptions) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "get-contexts [NAME]",
		Short: "List the contexts (CURRENT NAME CLUSTER REPO PATH)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if output != "" && output != "name" {
				return flagErrorf("unknown output format %q: use name", output)
			}
			p, cfg, err := o.load()
			if err != nil {
				return err
			}
			names := cfg.Names()
			if len(args) == 1 {
				if cfg.Context(args[0]) == nil {
					return fmt.Errorf("context %s not found in %s", args[0], p)
				}
				names = args
			}
			if output == "name" {
				for _, n := range names {
					fmt.Fprintln(o.ios.Out, n)
				}
				return nil
			}
			return printContexts(o.ios, cfg, names)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: name")
	return cmd
}

// printContexts is kubectl's get-contexts table, with the columns that say
// where a context's state comes from. PATH is --path, or -f for a local tree.
func printContexts(ios *IOStreams, cfg *userconfig.Config, names []string) error {
	if len(names) == 0 {
		fmt.Fprintln(ios.ErrOut, "No contexts found: create one with reconcile config set-context NAME --repo URL --cluster FILE")
		return nil
	}
	t := newTable(ios.Out)
	fmt.Fprintln(t, "CURRENT\tNAME\tCLUSTER\tREPO\tPATH")
	for _, n := range names {
		x := cfg.Context(n)
		cur := ""
		if n == cfg.CurrentContext {
			cur = "*"
		}
		path := x.Get("path")
		if f := x.Get("filename"); f != "" {
			path = f
		}
		fmt.Fprintf(t, "%s\t%s\t%s\t%s\t%s\n", cur, n, x.Get("cluster"), x.Get("repo"), path)
	}
	return t.Flush()
}

func newViewConfigCmd(o *configOptions) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "view",
		Short: "Print the config file (YAML, or -o json)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, cfg, err := o.load()
			if err != nil {
				return err
			}
			switch output {
			case "", "yaml":
				b, err := cfg.Marshal()
				if err != nil {
					return err
				}
				_, err = o.ios.Out.Write(b)
				return err
			case "json":
				b, err := json.MarshalIndent(cfg, "", "    ")
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(o.ios.Out, "%s\n", b)
				return err
			}
			return flagErrorf("unknown output format %q: use yaml or json", output)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "output format: yaml or json")
	return cmd
}
