package lab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// GitSSHCommand is what GIT_SSH_COMMAND must be for git on the machine to
// reach the lab's repository with the lab's key and known_hosts.
func (l *Lab) GitSSHCommand() string {
	return "ssh -F " + l.SSHConfig
}

// PushGit makes the tip of main in the lab's repository hold exactly the
// files of dir (a commit on top of the previous one, so history accumulates
// like a user's), pushing over SSH as a user would. It returns the commit.
func (l *Lab) PushGit(ctx context.Context, dir, message string) (string, error) {
	work, err := os.MkdirTemp("", "reconcile-lab-push-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	env := []string{
		"GIT_SSH_COMMAND=" + l.GitSSHCommand(),
		"GIT_AUTHOR_NAME=reconcile lab", "GIT_AUTHOR_EMAIL=lab@reconcile.invalid",
		"GIT_COMMITTER_NAME=reconcile lab", "GIT_COMMITTER_EMAIL=lab@reconcile.invalid",
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
	}
	tree := filepath.Join(work, "tree")
	if err := os.CopyFS(tree, os.DirFS(dir)); err != nil {
		return "", fmt.Errorf("copying %s: %w", dir, err)
	}
	// The repository lives beside the copy, so dir's files sit at its root
	// and nothing of dir (not even a .git of its own) is touched.
	git := func(args ...string) (string, error) {
		args = append([]string{"-C", tree, "--git-dir", filepath.Join(work, "git"), "--work-tree", tree}, args...)
		out, err := runEnv(ctx, env, "git", args...)
		return strings.TrimSpace(string(out)), err
	}
	if _, err := runEnv(ctx, env, "git", "init", "--quiet", "--bare", "--initial-branch=main", filepath.Join(work, "git")); err != nil {
		return "", err
	}
	if _, err := git("config", "core.bare", "false"); err != nil {
		return "", err
	}
	if _, err := git("remote", "add", "origin", l.GitURL); err != nil {
		return "", err
	}
	// An empty repository has no main yet: then this is the first commit.
	if _, err := git("fetch", "--quiet", "origin", "main"); err == nil {
		if _, err := git("reset", "--quiet", "--soft", "FETCH_HEAD"); err != nil {
			return "", err
		}
	}
	if _, err := git("add", "--all", "."); err != nil {
		return "", err
	}
	if _, err := git("commit", "--quiet", "--allow-empty", "-m", message); err != nil {
		return "", err
	}
	if _, err := git("push", "--quiet", "origin", "HEAD:refs/heads/main"); err != nil {
		return "", fmt.Errorf("pushing to %s: %w", l.GitURL, err)
	}
	return git("rev-parse", "HEAD")
}
