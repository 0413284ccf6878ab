package reconcile

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// A pass that fetches the commit the last pass loaded reuses its decoded
// manifests; a new commit, and a local tree always, are read again.
func TestLoadDesiredSinceReusesSameCommit(t *testing.T) {
	repo := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main"}, args...)...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	write := func(docs ...string) {
		t.Helper()
		for i, d := range append([]string{testCluster}, docs...) {
			if err := os.WriteFile(filepath.Join(repo, "m"+itoa(i)+".yaml"), []byte(d), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		git("add", "-A")
		git("commit", "-q", "-m", "m")
	}
	git("init", "-q")
	write(deployment("my-nginx", "nginx", 2, ""))
	ctx := context.Background()
	o := SourceOptions{Repo: "file://" + repo, CacheDir: t.TempDir()}
	first, err := loadDesiredSince(ctx, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	again, err := loadDesiredSince(ctx, o, first)
	if err != nil || again.Set != first.Set || again.Commit != first.Commit {
		t.Fatalf("same commit: set reused %v, commit %s (was %s), %v", again.Set == first.Set, again.Commit, first.Commit, err)
	}
	write(deployment("my-nginx", "nginx", 3, ""))
	next, err := loadDesiredSince(ctx, o, again)
	if err != nil || next.Set == first.Set || next.Commit == first.Commit || *next.Deployments[0].Spec.Replicas != 3 {
		t.Fatalf("new commit: set reused %v, commit %s, %v", next.Set == first.Set, next.Commit, err)
	}

	local := SourceOptions{Dir: repo} // its work tree; the git source wrote no checkout
	l1, err := loadDesiredSince(ctx, local, nil)
	if err != nil {
		t.Fatal(err)
	}
	if l2, err := loadDesiredSince(ctx, local, l1); err != nil || l2.Set == l1.Set {
		t.Errorf("a local tree was not read again (%v)", err)
	}
}
