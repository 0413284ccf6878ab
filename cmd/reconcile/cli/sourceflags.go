package cli

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/reconcile-dev/reconcile/reconcile"
	"github.com/reconcile-dev/reconcile/runtime"
)

// sourceFlags are the flags every command that reads manifests shares.
type sourceFlags struct {
	reconcile.SourceOptions
	sshKey string // --ssh-key on commands that only read git
}

// registerStandalone adds the source flags plus --ssh-key and --known-hosts
// for commands that reach no host, only git, so the same flags work
// everywhere.
func (f *sourceFlags) registerStandalone(cmd *cobra.Command) {
	f.register(cmd)
	cmd.Flags().StringVar(&f.sshKey, "ssh-key", "", "private key for git over SSH (same as --git-ssh-key)")
	cmd.Flags().StringVar(&f.KnownHostsFile, "known-hosts", "", "known_hosts file for git over SSH (default: ~/.ssh/known_hosts; /etc/ssh/ssh_known_hosts is read too, as ssh does)")
}

// options returns the source options with --ssh-key applied.
func (f *sourceFlags) options() reconcile.SourceOptions {
	o := f.SourceOptions
	if o.GitSSHKey == "" {
		o.GitSSHKey = f.sshKey
	}
	// sops' own variables, as the sops CLI and Flux read them.
	if o.SOPSAgeKeyFile == "" {
		o.SOPSAgeKeyFile = os.Getenv("SOPS_AGE_KEY_FILE")
	}
	o.SOPSAgeKey = os.Getenv("SOPS_AGE_KEY")
	return o
}

func (f *sourceFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVarP(&f.Dir, "filename", "f", "", "read manifests from this local file or directory (recursively)")
	fl.StringVar(&f.Repo, "repo", "", "git repository URL holding the manifests (ssh://, file://, https://)")
	fl.StringVar(&f.Ref, "ref", "", "branch, tag or commit of --repo (default: the remote's HEAD)")
	fl.StringVar(&f.Path, "path", "", "directory inside --repo holding the manifests")
	fl.StringVar(&f.ClusterFile, "cluster", "", "Cluster inventory file; wins over a Cluster in the manifests")
	fl.StringVar(&f.GitSSHKey, "git-ssh-key", "", "private key for git over SSH (default: ssh-agent)")
	fl.StringVar(&f.SourceID, "source-id", "", "identity recorded on what this source manages; sources prune only their own (default: --repo URL//--path, or \"local\" for -f)")
	fl.StringArrayVar(&f.Exclude, "exclude", nil, "skip the tree's paths matching this gitignore-style pattern (repeatable; on top of .reconcileignore files)")
	fl.StringVar(&f.SOPSAgeKeyFile, "sops-age-key-file", "", "age key file to decrypt SOPS-encrypted manifests with, on this machine (default: $SOPS_AGE_KEY_FILE, else the keys in $SOPS_AGE_KEY)")
	fl.StringVar(&f.CacheDir, "cache-dir", "", "where git clones are cached (default: $RECONCILE_CACHE_DIR or the user cache dir)")
}

// sshFlags say how to reach the hosts.
type sshFlags struct {
	runtime.SSHOptions
	noAgent bool
}

func (f *sshFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringSliceVar(&f.KeyFiles, "ssh-key", nil, "private key for SSH to the hosts (repeatable; default: ssh-agent, ~/.ssh/config, ~/.ssh/id_*)")
	fl.StringVar(&f.KnownHostsFile, "known-hosts", "", "known_hosts file for the hosts and git over SSH (default: ~/.ssh/known_hosts; /etc/ssh/ssh_known_hosts is read too, as ssh does)")
	fl.StringVarP(&f.ConfigFile, "ssh-config", "F", "", "ssh_config file (default: ~/.ssh/config)")
	fl.BoolVar(&f.noAgent, "no-ssh-agent", false, "do not use the ssh-agent at $SSH_AUTH_SOCK")
}

// check reports a named file that does not exist once, as a usage error,
// rather than as every host being unreachable.
func (f *sshFlags) check() error {
	files := append([]string{f.ConfigFile, f.KnownHostsFile}, f.KeyFiles...)
	for _, p := range files {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err != nil {
			return flagErrorf("%v", err)
		}
	}
	return nil
}

func (f *sshFlags) options() runtime.SSHOptions {
	o := f.SSHOptions
	o.UseAgent = !f.noAgent
	return o
}
