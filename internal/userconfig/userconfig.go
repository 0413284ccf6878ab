// Package userconfig is reconcile's per-user configuration file: named
// contexts, each a set of stored flag values (which repository, which
// Cluster, which ssh_config), and the current one, as kubectl keeps them in
// ~/.kube/config. It knows nothing about which flags exist; the CLI's flag
// table decides that and validates the keys.
package userconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"

	"sigs.k8s.io/yaml"

	"github.com/reconcile-dev/reconcile/internal/atomicfile"
)

const (
	APIVersion = "reconcile.dev/v1alpha1"
	Kind       = "Config"

	// MaxSize bounds the file on read and write: a config holds a few
	// contexts of a few paths each, and a runaway or hostile file must not
	// be read whole into memory.
	MaxSize = 1 << 20

	// EnvXDG is the base directory variable of the XDG spec.
	EnvXDG = "XDG_CONFIG_HOME"
)

// Config is the whole file.
type Config struct {
	APIVersion     string    `json:"apiVersion"`
	Kind           string    `json:"kind"`
	CurrentContext string    `json:"current-context,omitempty"`
	Contexts       []Context `json:"contexts,omitempty"`
}

// Context is one named set of stored flag values, keyed by flag name.
type Context struct {
	Name     string           `json:"name"`
	Settings map[string]Value `json:"settings,omitempty"`
}

// Value is a stored flag value: one string for a plain flag, several for
// a repeatable one. In the file a single value is a scalar.
type Value []string

func (v Value) MarshalJSON() ([]byte, error) {
	if len(v) == 1 {
		return json.Marshal(v[0])
	}
	return json.Marshal([]string(v))
}

func (v *Value) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*v = Value{s}
		return nil
	}
	var t bool
	if err := json.Unmarshal(b, &t); err == nil {
		*v = Value{fmt.Sprint(t)}
		return nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return errors.New("want a string or a list of strings")
	}
	*v = l
	return nil
}

// DefaultPath is $XDG_CONFIG_HOME/reconcile/config.yaml, else
// ~/.config/reconcile/config.yaml (the XDG default, on every OS: a CLI
// that manages Linux hosts keeps Linux conventions).
func DefaultPath(getenv func(string) string) (string, error) {
	if d := getenv(EnvXDG); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "reconcile", "config.yaml"), nil
	}
	home := getenv("HOME")
	if home == "" {
		var err error
		if home, err = os.UserHomeDir(); err != nil {
			return "", fmt.Errorf("find the config file: %w (set HOME or %s)", err, EnvXDG)
		}
	}
	return filepath.Join(home, ".config", "reconcile", "config.yaml"), nil
}

// nameRE: a context name is what kubectl allows in practice, minus what
// would need quoting in a shell or a table.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@:/-]{0,252}$`)

// CheckName refuses names that would not print or type cleanly.
func CheckName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("context name %q: want 1-253 characters of letters, digits and . _ @ : / -, starting with a letter or digit", name)
	}
	return nil
}

// Load reads the file at path. A file that does not exist is an empty
// config (CI needs none); one that is too large or malformed is an error
// naming the file.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return &Config{APIVersion: APIVersion, Kind: Kind}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > MaxSize {
		return nil, fmt.Errorf("%s: larger than %d bytes: not a reconcile config file", path, MaxSize)
	}
	return Parse(path, b)
}

// Parse decodes a config file's content; unknown fields are errors.
func Parse(path string, b []byte) (*Config, error) {
	c := &Config{}
	if len(bytes.TrimSpace(b)) > 0 {
		if err := yaml.UnmarshalStrict(b, c); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	if c.APIVersion == "" {
		c.APIVersion = APIVersion
	}
	if c.Kind == "" {
		c.Kind = Kind
	}
	if c.APIVersion != APIVersion || c.Kind != Kind {
		return nil, fmt.Errorf("%s: apiVersion %s, kind %s: want %s, %s", path, c.APIVersion, c.Kind, APIVersion, Kind)
	}
	seen := map[string]bool{}
	for _, x := range c.Contexts {
		if err := CheckName(x.Name); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if seen[x.Name] {
			return nil, fmt.Errorf("%s: context %q is defined twice", path, x.Name)
		}
		seen[x.Name] = true
	}
	return c, nil
}

// Marshal is the file's content.
func (c *Config) Marshal() ([]byte, error) {
	return yaml.Marshal(c)
}

// Save writes the config atomically, mode 0600 (a context names key files
// and hosts: nobody else needs to read it), creating its directory 0700.
func (c *Config) Save(path string) error {
	b, err := c.Marshal()
	if err != nil {
		return err
	}
	if len(b) > MaxSize {
		return fmt.Errorf("write %s: the config would be %d bytes, more than %d: delete some contexts", path, len(b), MaxSize)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := atomicfile.Write(path, b, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Context returns the named context, or nil.
func (c *Config) Context(name string) *Context {
	for i := range c.Contexts {
		if c.Contexts[i].Name == name {
			return &c.Contexts[i]
		}
	}
	return nil
}

// Upsert returns the named context, adding an empty one when missing, and
// whether it was added.
func (c *Config) Upsert(name string) (*Context, bool) {
	if x := c.Context(name); x != nil {
		return x, false
	}
	c.Contexts = append(c.Contexts, Context{Name: name})
	return &c.Contexts[len(c.Contexts)-1], true
}

// Delete removes the named context and reports whether it was there. The
// current context is left pointing at it, as kubectl does, so the next
// command says it is gone rather than silently using no context.
func (c *Config) Delete(name string) bool {
	n := len(c.Contexts)
	c.Contexts = slices.DeleteFunc(c.Contexts, func(x Context) bool { return x.Name == name })
	return len(c.Contexts) != n
}

// Names lists the contexts, sorted.
func (c *Config) Names() []string {
	var ns []string
	for _, x := range c.Contexts {
		ns = append(ns, x.Name)
	}
	slices.Sort(ns)
	return ns
}

// Get is one stored value's first string, for tables.
func (x *Context) Get(flag string) string {
	if v := x.Settings[flag]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Set stores v for flag; an empty value removes the setting.
func (x *Context) Set(flag string, v Value) {
	if len(v) == 0 || (len(v) == 1 && v[0] == "") {
		delete(x.Settings, flag)
		return
	}
	if x.Settings == nil {
		x.Settings = map[string]Value{}
	}
	x.Settings[flag] = v
}
