// Package reconcile turns a desired state (manifests) and the observed state
// of the hosts into a plan, and executes that plan. It does not format output:
// plans and results are plain values that the CLI renders.
package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"

	"github.com/reconcile-dev/reconcile/resources"
	"github.com/reconcile-dev/reconcile/resources/gitsource"
	"github.com/reconcile-dev/reconcile/resources/sops"
)

// KeyError is an age key (--sops-age-key-file, SOPS_AGE_KEY_FILE,
// SOPS_AGE_KEY) that cannot be read: a usage error, found before any
// manifest or host is touched.
type KeyError struct{ Err error }

func (e *KeyError) Error() string { return e.Err.Error() }
func (e *KeyError) Unwrap() error { return e.Err }

// SourceOptions says where the desired state comes from: a git repository
// (Repo, Ref, Path) or a local directory (Dir), plus an optional Cluster file
// that overrides the tree's own Cluster.
type SourceOptions struct {
	Dir            string
	Repo           string
	Ref            string
	Path           string
	ClusterFile    string
	GitSSHKey      string
	KnownHostsFile string
	CacheDir       string
	// SourceID overrides the source identity recorded on what this source
	// manages (default: SourceID(Repo, Path), or LocalSource for Dir).
	SourceID string
	// Exclude are gitignore patterns of paths of the tree not to load
	// (--exclude), on top of its .reconcileignore files.
	Exclude []string
	// SOPSAgeKeyFile (--sops-age-key-file, else SOPS_AGE_KEY_FILE) and
	// SOPSAgeKey (SOPS_AGE_KEY) are the age keys SOPS-encrypted
	// manifests are decrypted with, on this machine.
	SOPSAgeKeyFile string
	SOPSAgeKey     string
	// SOPSWithoutKey loads encrypted manifests without a key, checking
	// their structure only (validate).
	SOPSWithoutKey bool
	Log            io.Writer
}

// Desired is a loaded, validated desired state and where it came from.
type Desired struct {
	*resources.Set
	Dir    string // the tree that was read
	Root   string // the checkout holding Dir, for git sources: what a kustomization may read
	Repo   string
	Commit string // the git commit used, when the source is git
	// Source identifies who manages what this state creates (SourceID);
	// empty means the run claims every pod of the cluster.
	Source string

	revOnce sync.Once
	rev     string

	dnsOnce sync.Once
	dnsErr  error

	// history is the template history apply records on the hosts
	// (templatehistory.go); nil when this run did not read it, and then
	// it is not written either.
	history *TemplateHistory
}

// ErrNoSource is returned when neither a directory nor a repository is given.
var ErrNoSource = errors.New("no manifests given: use -f DIR or --repo URL [--ref REF] [--path DIR]")

// LoadDesired fetches (when needed) and loads the manifests. Any validation
// problem is returned as a resources.ErrorList before anything is changed.
func LoadDesired(ctx context.Context, o SourceOptions) (*Desired, error) {
	return loadDesiredSince(ctx, o, nil)
}

// loadDesiredSince is LoadDesired for a caller that loaded prev with the same
// options before (the daemon, pass after pass): when the fetch lands on
// prev's commit in prev's folder, prev's manifests are used again instead
// of decoded again (2,000 Services are about 0.3 s of YAML on every idle
// pass). A local tree (-f) and a --cluster file are always read again:
// nothing says they did not change.
func loadDesiredSince(ctx context.Context, o SourceOptions, prev *Desired) (*Desired, error) {
	d := &Desired{Repo: o.Repo, Source: o.SourceID}
	var files fs.FS // the git tree in memory, when not checked out (gitsource.FetchTree)
	if d.Source == "" {
		d.Source = SourceID(o.Repo, o.Path)
	}
	switch {
	case o.Repo != "" && o.Dir != "":
		return nil, errors.New("use either -f DIR or --repo URL, not both")
	case o.Repo != "":
		res, err := gitsource.FetchTree(ctx, gitsource.Options{
			URL: o.Repo, Ref: o.Ref, Path: o.Path, CacheDir: o.CacheDir,
			SSHKeyFile: o.GitSSHKey, KnownHostsFile: o.KnownHostsFile, Log: o.Log,
		})
		if err != nil {
			return nil, err
		}
		d.Dir, d.Root, d.Commit, files = res.Dir, res.Root, res.Commit, res.Files
	case o.Dir != "":
		d.Dir = o.Dir
	case o.ClusterFile != "":
		// Read commands only need the inventory.
	default:
		return nil, ErrNoSource
	}

	if prev != nil && o.Repo != "" && o.ClusterFile == "" && prev.Set != nil &&
		prev.Repo == d.Repo && prev.Source == d.Source && prev.Commit == d.Commit && prev.Dir == d.Dir {
		d.Set = prev.Set
		return d, nil
	}
	set := &resources.Set{}
	if d.Dir != "" {
		keys, err := sops.LoadKeys(o.SOPSAgeKeyFile, "", o.SOPSAgeKey)
		if err != nil {
			return nil, &KeyError{err}
		}
		dec := resources.Decryption{Keys: keys, WithoutKey: o.SOPSWithoutKey}
		to := resources.TreeOptions{Root: d.Root, Exclude: o.Exclude, Decryption: dec}
		if o.Repo != "" {
			// Beside the clone, whose cache folder is the user's: a
			// run of -f DIR leaves nothing behind.
			to.ParseCache, _ = parseCachePath(o)
		}
		var s *resources.Set
		if files != nil {
			s, err = resources.LoadFS(files, d.Dir, to)
		} else {
			s, err = resources.LoadTree(d.Dir, to)
		}
		if err != nil {
			return nil, err
		}
		set = s
	}
	if o.ClusterFile != "" {
		c, err := resources.LoadCluster(o.ClusterFile)
		if err != nil {
			return nil, err
		}
		if err := set.WithCluster(c); err != nil {
			return nil, err
		}
	}
	d.Set = set
	return d, nil
}

// RequireCluster reports a clear error when no Cluster inventory was given.
func (d *Desired) RequireCluster() error {
	if d.Cluster == nil {
		where := d.Dir
		if d.Repo != "" {
			where = d.Repo
		}
		return &InvalidError{fmt.Errorf("no Cluster (apiVersion %s) found in %s: add one to the tree or pass --cluster FILE", resources.ClusterAPIVersion, where)}
	}
	return nil
}
