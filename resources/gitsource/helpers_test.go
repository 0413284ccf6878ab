package gitsource

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// testRepo is a bare repository in a temp folder, filled through a work
// clone with the real git CLI, the way a user's repository would be.
type testRepo struct {
	t    testing.TB
	work string
	bare string
	// Commits by name, full SHAs.
	first, second, feature string
}

func (r *testRepo) url() string { return "file://" + r.bare }

func runGit(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_AUTHOR_NAME=test", "GIT_AUTHOR_EMAIL=test@example.com",
		"GIT_COMMITTER_NAME=test", "GIT_COMMITTER_EMAIL=test@example.com",
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
	)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(out.String())
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// newTestRepo makes:
//
//	main:    first  (deploy/app.yaml "v1", README)  <- tag v1 (annotated), v0 (lightweight)
//	         second (deploy/app.yaml "v2", deploy/prod/svc.yaml)
//	feature: branches from first, deploy/app.yaml "feature"
func newTestRepo(t testing.TB) *testRepo {
	t.Helper()
	dir := t.TempDir()
	r := &testRepo{t: t, work: filepath.Join(dir, "work"), bare: filepath.Join(dir, "app.git")}
	runGit(t, dir, "init", "-q", "--bare", "-b", "main", r.bare)
	runGit(t, dir, "init", "-q", "-b", "main", r.work)
	writeFile(t, filepath.Join(r.work, "README"), "hello\n")
	writeFile(t, filepath.Join(r.work, "deploy/app.yaml"), "v1\n")
	runGit(t, r.work, "add", "-A")
	runGit(t, r.work, "commit", "-q", "-m", "first")
	r.first = runGit(t, r.work, "rev-parse", "HEAD")
	runGit(t, r.work, "tag", "-a", "-m", "release v1", "v1")
	runGit(t, r.work, "tag", "v0")

	runGit(t, r.work, "checkout", "-q", "-b", "feature")
	writeFile(t, filepath.Join(r.work, "deploy/app.yaml"), "feature\n")
	runGit(t, r.work, "commit", "-q", "-am", "feature")
	r.feature = runGit(t, r.work, "rev-parse", "HEAD")

	runGit(t, r.work, "checkout", "-q", "main")
	writeFile(t, filepath.Join(r.work, "deploy/app.yaml"), "v2\n")
	writeFile(t, filepath.Join(r.work, "deploy/prod/svc.yaml"), "prod\n")
	runGit(t, r.work, "add", "-A")
	runGit(t, r.work, "commit", "-q", "-m", "second")
	r.second = runGit(t, r.work, "rev-parse", "HEAD")
	runGit(t, r.work, "push", "-q", "--all", r.bare)
	runGit(t, r.work, "push", "-q", "--tags", r.bare)
	return r
}

// commit adds a commit on main that writes content to deploy/app.yaml and
// pushes it, returning its SHA.
func (r *testRepo) commit(content string) string {
	r.t.Helper()
	writeFile(r.t, filepath.Join(r.work, "deploy/app.yaml"), content)
	runGit(r.t, r.work, "commit", "-q", "-am", "update")
	runGit(r.t, r.work, "push", "-q", r.bare, "main")
	return runGit(r.t, r.work, "rev-parse", "HEAD")
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
