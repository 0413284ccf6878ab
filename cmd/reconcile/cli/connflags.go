package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/reconcile-dev/reconcile/internal/userconfig"
)

// connFlag is one flag that says where the manifests are or how to reach
// the hosts: what a context stores and a RECONCILE_* variable can set.
type connFlag struct {
	name string // the flag's long name, also its key in a context
	env  string
	kind connKind
	// replaces are the flags a value of this one makes meaningless when
	// they come from a lower layer: -f on the command line must not be
	// combined with the context's --repo, nor its --ref and --path.
	replaces []string
}

type connKind int

const (
	connString connKind = iota
	connPath            // a local file or directory: made absolute when stored
	connList            // repeatable; a variable holds a comma-separated list
	connPathList
	connBool
)

func (k connKind) isPath() bool { return k == connPath || k == connPathList }
func (k connKind) isList() bool { return k == connList || k == connPathList }

// connFlags is the one table of them: set-context's flags, the help text's
// [env ...] notes and the lookup all read it.
var connFlags = []connFlag{
	{name: "filename", env: "RECONCILE_FILENAME", kind: connPath, replaces: []string{"repo", "ref", "path"}},
	{name: "repo", env: "RECONCILE_REPO", replaces: []string{"filename", "ref", "path"}},
	{name: "ref", env: "RECONCILE_REF"},
	{name: "path", env: "RECONCILE_PATH"},
	{name: "cluster", env: "RECONCILE_CLUSTER", kind: connPath},
	{name: "exclude", env: "RECONCILE_EXCLUDE", kind: connList},
	{name: "source-id", env: "RECONCILE_SOURCE_ID"},
	{name: "cache-dir", env: "RECONCILE_CACHE_DIR", kind: connPath},
	{name: "git-ssh-key", env: "RECONCILE_GIT_SSH_KEY", kind: connPath},
	{name: "ssh-config", env: "RECONCILE_SSH_CONFIG", kind: connPath},
	{name: "ssh-key", env: "RECONCILE_SSH_KEY", kind: connPathList},
	{name: "known-hosts", env: "RECONCILE_KNOWN_HOSTS", kind: connPath},
	{name: "no-ssh-agent", env: "RECONCILE_NO_SSH_AGENT", kind: connBool},
	{name: "agent-dir", env: "RECONCILE_AGENT_DIR", kind: connPath},
	{name: "timeout", env: "RECONCILE_TIMEOUT"},
	{name: "namespace", env: "RECONCILE_NAMESPACE"},
}

// contextEnv names the context for every command, below --context.
const contextEnv = "RECONCILE_CONTEXT"

func connFlagNamed(name string) (connFlag, bool) {
	i := slices.IndexFunc(connFlags, func(f connFlag) bool { return f.name == name })
	if i < 0 {
		return connFlag{}, false
	}
	return connFlags[i], true
}

// noteEnv appends "[env RECONCILE_X]" to the help of every connection flag
// of cmd and its subcommands, so the help says what the table says.
func noteEnv(cmd *cobra.Command) {
	if cmd.Annotations[noDefaultsAnnotation] == "" {
		cmd.Flags().VisitAll(func(f *pflag.Flag) {
			if c, ok := connFlagNamed(f.Name); ok && !strings.Contains(f.Usage, c.env) {
				f.Usage += " [env " + c.env + "]"
			}
		})
	}
	for _, c := range cmd.Commands() {
		noteEnv(c)
	}
}

// noDefaultsAnnotation marks commands whose connection flags are values to
// store (config set-context), never to be filled from env or a context.
const noDefaultsAnnotation = "reconcile.dev/no-defaults"

// layer is one source of values below the command line.
type layer struct {
	name   string // "env" or `context "lab"`, for error messages
	lookup func(flag connFlag) ([]string, bool)
}

// resolved is the value a flag gets from a lower layer.
type resolved struct {
	flag   string
	values []string
	from   string
}

// resolve decides, for the flags the command has and the command line did
// not set, which layer gives their value: flag > env > context > default.
// A flag a layer sets keeps the flags it replaces from being filled by the
// layers below (the source is -f or --repo, never both).
func resolve(has func(string) bool, changed func(string) bool, layers []layer) []resolved {
	blocked := map[string]bool{}
	for _, c := range connFlags {
		if has(c.name) && changed(c.name) {
			for _, r := range c.replaces {
				blocked[r] = true
			}
		}
	}
	var out []resolved
	done := map[string]bool{}
	for _, l := range layers {
		var block []string
		for _, c := range connFlags {
			if !has(c.name) || changed(c.name) || done[c.name] || blocked[c.name] {
				continue
			}
			v, ok := l.lookup(c)
			if !ok {
				continue
			}
			done[c.name] = true
			out = append(out, resolved{c.name, v, l.name})
			block = append(block, c.replaces...)
		}
		for _, b := range block {
			blocked[b] = true
		}
	}
	return out
}

// envLayer reads RECONCILE_* variables; an empty variable is unset.
func envLayer(getenv func(string) string) layer {
	return layer{name: "environment", lookup: func(c connFlag) ([]string, bool) {
		v := getenv(c.env)
		if v == "" {
			return nil, false
		}
		if c.kind.isList() {
			return strings.Split(v, ","), true
		}
		return []string{v}, true
	}}
}

func contextLayer(x *userconfig.Context) layer {
	return layer{name: fmt.Sprintf("context %q", x.Name), lookup: func(c connFlag) ([]string, bool) {
		v, ok := x.Settings[c.name]
		return v, ok && len(v) > 0
	}}
}

// configFile finds the user's config file.
func configFile(getenv func(string) string) (string, error) {
	return userconfig.DefaultPath(getenv)
}

// contextName is --context, else $RECONCILE_CONTEXT, else the file's
// current context; explicit says it was asked for by name.
func contextName(cmd *cobra.Command, getenv func(string) string, cfg *userconfig.Config) (name string, explicit bool) {
	if f := cmd.Flags().Lookup("context"); f != nil && f.Changed {
		return f.Value.String(), true
	}
	if v := getenv(contextEnv); v != "" {
		return v, true
	}
	return cfg.CurrentContext, false
}

// applyDefaults fills cmd's unset connection flags from the environment
// and the context, before the command runs. A config file is read only
// when it exists or a context is named, so CI needs none.
func applyDefaults(cmd *cobra.Command, getenv func(string) string) error {
	fl := cmd.Flags()
	has := func(n string) bool { return fl.Lookup(n) != nil }
	// Commands without connection flags (version, the node agent's verbs
	// on the hosts) never read the file.
	if cmd.Annotations[noDefaultsAnnotation] != "" || !slices.ContainsFunc(connFlags, func(c connFlag) bool { return has(c.name) }) {
		return nil
	}
	layers := []layer{envLayer(getenv)}
	path, err := configFile(getenv)
	if err != nil {
		return err
	}
	cfg, err := userconfig.Load(path)
	if err != nil {
		return err
	}
	name, explicit := contextName(cmd, getenv, cfg)
	if name != "" {
		x := cfg.Context(name)
		if x == nil {
			how := "the current context"
			if explicit {
				how = "--context / $" + contextEnv
			}
			return flagErrorf("context %q (%s) is not in %s: see reconcile config get-contexts", name, how, path)
		}
		if err := checkSettings(path, x); err != nil {
			return err
		}
		layers = append(layers, contextLayer(x))
	}
	changed := func(n string) bool { return fl.Changed(n) }
	for _, r := range resolve(has, changed, layers) {
		f := fl.Lookup(r.flag)
		for _, v := range r.values {
			if err := f.Value.Set(v); err != nil {
				return flagErrorf("--%s from the %s: %v", r.flag, r.from, err)
			}
		}
	}
	return nil
}

// checkSettings refuses a stored key no flag has, naming the file.
func checkSettings(path string, x *userconfig.Context) error {
	var bad []string
	for k := range x.Settings {
		if _, ok := connFlagNamed(k); !ok {
			bad = append(bad, k)
		}
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		return flagErrorf("%s: context %q: unknown settings %s (known: %s)", path, x.Name, strings.Join(bad, ", "), connFlagNames())
	}
	return nil
}

func connFlagNames() string {
	var ns []string
	for _, c := range connFlags {
		ns = append(ns, c.name)
	}
	return strings.Join(ns, ", ")
}

// storedValue is what set-context keeps of a flag's values: paths made
// absolute, so the context works from any directory.
func storedValue(c connFlag, values []string) (userconfig.Value, error) {
	if !c.kind.isPath() {
		return values, nil
	}
	out := make(userconfig.Value, 0, len(values))
	for _, v := range values {
		if v == "" {
			out = append(out, v)
			continue
		}
		if strings.HasPrefix(v, "~/") {
			home, err := os.UserHomeDir()
			if err != nil {
				return nil, err
			}
			v = filepath.Join(home, v[2:])
		}
		abs, err := filepath.Abs(v)
		if err != nil {
			return nil, err
		}
		out = append(out, abs)
	}
	return out, nil
}
