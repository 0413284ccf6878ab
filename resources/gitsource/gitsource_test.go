package gitsource

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestFetchRefs(t *testing.T) {
	r := newTestRepo(t)
	cache := t.TempDir()
	tests := []struct {
		name, ref   string
		wantCommit  string
		wantRef     string
		wantContent string // deploy/app.yaml
	}{
		{"default HEAD", "", r.second, "refs/heads/main", "v2\n"},
		{"branch", "main", r.second, "refs/heads/main", "v2\n"},
		{"full ref name", "refs/heads/feature", r.feature, "refs/heads/feature", "feature\n"},
		{"other branch", "feature", r.feature, "refs/heads/feature", "feature\n"},
		{"annotated tag", "v1", r.first, "refs/tags/v1", "v1\n"},
		{"lightweight tag", "v0", r.first, "refs/tags/v0", "v1\n"},
		{"full SHA", r.feature, r.feature, r.feature, "feature\n"},
		{"short SHA", r.first[:7], r.first, r.first, "v1\n"},
		{"upper-case short SHA", strings.ToUpper(r.feature[:10]), r.feature, r.feature, "feature\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Fetch(context.Background(), Options{URL: r.url(), Ref: tt.ref, Path: "deploy", CacheDir: cache})
			if err != nil {
				t.Fatal(err)
			}
			if res.Commit != tt.wantCommit || res.Ref != tt.wantRef {
				t.Errorf("got commit %s ref %s, want %s %s", res.Commit, res.Ref, tt.wantCommit, tt.wantRef)
			}
			root, _ := cacheRoot(cache, r.url())
			if want := filepath.Join(root, "checkouts", tt.wantCommit, "deploy"); res.Dir != want {
				t.Errorf("dir %s, want %s", res.Dir, want)
			}
			if got := readFile(t, filepath.Join(res.Dir, "app.yaml")); got != tt.wantContent {
				t.Errorf("app.yaml = %q, want %q", got, tt.wantContent)
			}
		})
	}
}

func TestFetchPath(t *testing.T) {
	r := newTestRepo(t)
	tests := []struct {
		path    string
		wantRel string
		file    string
	}{
		{"", "", "README"},
		{".", "", "README"},
		{"deploy/prod", "deploy/prod", "svc.yaml"},
		{"deploy/prod/", "deploy/prod", "svc.yaml"},
		{"./deploy//prod", "deploy/prod", "svc.yaml"},
	}
	cache := t.TempDir()
	root, _ := cacheRoot(cache, r.url())
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			res, err := Fetch(context.Background(), Options{URL: r.url(), Ref: "main", Path: tt.path, CacheDir: cache})
			if err != nil {
				t.Fatal(err)
			}
			if want := filepath.Join(root, "checkouts", r.second, tt.wantRel); res.Dir != want {
				t.Errorf("dir %s, want %s", res.Dir, want)
			}
			if _, err := os.Stat(filepath.Join(res.Dir, tt.file)); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestFetchErrors(t *testing.T) {
	r := newTestRepo(t)
	missing := "file://" + filepath.Join(t.TempDir(), "nope.git")
	tests := []struct {
		name    string
		o       Options
		wantErr string
	}{
		{"bad ref", Options{URL: r.url(), Ref: "nope"},
			fmt.Sprintf(`git: ref "nope" not found in %s (branches: feature, main; tags: v0, v1)`, r.url())},
		{"unknown SHA", Options{URL: r.url(), Ref: "deadbeef"},
			fmt.Sprintf(`git: ref "deadbeef" not found in %s (branches: feature, main; tags: v0, v1); a commit SHA must be reachable from a branch or tag`, r.url())},
		{"too short SHA", Options{URL: r.url(), Ref: r.first[:6]},
			fmt.Sprintf(`git: ref %q not found in %s (branches: feature, main; tags: v0, v1)`, r.first[:6], r.url())},
		{"bad URL", Options{URL: missing, Ref: "main"},
			fmt.Sprintf(`git: cannot reach %s: repository not found`, missing)},
		{"no URL", Options{}, `git: no repository URL given`},
		{"missing path", Options{URL: r.url(), Ref: "v1", Path: "deploy/prod"},
			fmt.Sprintf(`git: path "deploy/prod" not found at commit %s in %s`, r.first, r.url())},
		{"path is a file", Options{URL: r.url(), Ref: "main", Path: "README"},
			fmt.Sprintf(`git: path "README" at commit %s in %s is a file, not a directory`, r.second, r.url())},
		{"path outside", Options{URL: r.url(), Path: "../etc"},
			`git: path "../etc" must be a folder inside the repository, like deploy/prod`},
		{"absolute path", Options{URL: r.url(), Path: "/etc"},
			`git: path "/etc" must be a folder inside the repository, like deploy/prod`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.o.CacheDir = t.TempDir()
			_, err := Fetch(context.Background(), tt.o)
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("error:\n got: %v\nwant: %s", err, tt.wantErr)
			}
		})
	}
}

func TestFetchEmptyRepo(t *testing.T) {
	bare := filepath.Join(t.TempDir(), "empty.git")
	runGit(t, filepath.Dir(bare), "init", "-q", "--bare", bare)
	url := "file://" + bare
	_, err := Fetch(context.Background(), Options{URL: url, CacheDir: t.TempDir()})
	want := fmt.Sprintf("git: %s is empty; push a commit first: remote repository is empty", url)
	if err == nil || err.Error() != want {
		t.Errorf("error:\n got: %v\nwant: %s", err, want)
	}
}

func TestFetchIncremental(t *testing.T) {
	r := newTestRepo(t)
	cache := t.TempDir()
	root, _ := cacheRoot(cache, r.url())
	var log bytes.Buffer
	o := Options{URL: r.url(), Ref: "main", CacheDir: cache, Log: &log}
	if _, err := Fetch(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	wantLog := fmt.Sprintf("git: cloning %[1]s into %[2]s/repo.git\ngit: fetching %[1]s\ngit: %[1]s refs/heads/main at %[3]s\n", r.url(), root, r.second)
	if log.String() != wantLog {
		t.Errorf("first log:\n%s\nwant:\n%s", log.String(), wantLog)
	}
	marker := filepath.Join(root, "repo.git", "marker")
	writeFile(t, marker, "still the first clone\n")

	third := r.commit("v3\n")
	log.Reset()
	res, err := Fetch(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Commit != third {
		t.Errorf("commit %s, want the new commit %s", res.Commit, third)
	}
	if got := readFile(t, filepath.Join(res.Dir, "deploy/app.yaml")); got != "v3\n" {
		t.Errorf("app.yaml = %q", got)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("clone was redone: %v", err)
	}
	wantLog = fmt.Sprintf("git: fetching %[1]s\ngit: %[1]s refs/heads/main at %[2]s\n", r.url(), third)
	if log.String() != wantLog {
		t.Errorf("second log:\n%s\nwant:\n%s", log.String(), wantLog)
	}

	// Nothing new: no fetch at all, and the old checkout stays as it was.
	log.Reset()
	if _, err := Fetch(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	wantLog = fmt.Sprintf("git: %s refs/heads/main at %s\n", r.url(), third)
	if log.String() != wantLog {
		t.Errorf("third log:\n%s\nwant:\n%s", log.String(), wantLog)
	}
	old := filepath.Join(root, "checkouts", r.second, "deploy/app.yaml")
	if got := readFile(t, old); got != "v2\n" {
		t.Errorf("older checkout changed: %q", got)
	}
}

func TestFetchPrunesCheckouts(t *testing.T) {
	r := newTestRepo(t)
	cache := t.TempDir()
	root, _ := cacheRoot(cache, r.url())
	o := Options{URL: r.url(), Ref: "main", CacheDir: cache}
	for i := range keepCheckouts + 2 {
		r.commit(fmt.Sprintf("c%d\n", i))
		if _, err := Fetch(context.Background(), o); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(filepath.Join(root, "checkouts"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != keepCheckouts {
		t.Errorf("%d checkouts kept, want %d", len(entries), keepCheckouts)
	}
}

func TestFetchRepairsDamagedCache(t *testing.T) {
	// Some damage is healed by the fetch itself (go-git skips unreadable
	// packs and fetches what it lacks); the rest needs a fresh clone.
	tests := []struct {
		name    string
		spoil   func(t *testing.T, repo string)
		reclone bool
	}{
		{"no HEAD", func(t *testing.T, repo string) {
			if err := os.Remove(filepath.Join(repo, "HEAD")); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"config is garbage", func(t *testing.T, repo string) {
			writeFile(t, filepath.Join(repo, "config"), "[[[ not a config")
		}, true},
		// A local error (here ENOTDIR) wraps a syscall.Errno, which is a
		// net.Error too: it must not read as an unreachable remote.
		{"refs/heads is a file", func(t *testing.T, repo string) {
			if err := os.RemoveAll(filepath.Join(repo, "refs", "heads")); err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(repo, "refs", "heads"), "not a directory")
		}, true},
		{"garbage packs", func(t *testing.T, repo string) {
			packs, _ := filepath.Glob(filepath.Join(repo, "objects/pack/*"))
			if len(packs) == 0 {
				t.Fatal("no pack files to damage")
			}
			for _, p := range packs {
				writeFile(t, p, "garbage")
			}
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRepo(t)
			cache := t.TempDir()
			root, _ := cacheRoot(cache, r.url())
			o := Options{URL: r.url(), Ref: "main", CacheDir: cache}
			if _, err := Fetch(context.Background(), o); err != nil {
				t.Fatal(err)
			}
			tt.spoil(t, filepath.Join(root, "repo.git"))
			os.RemoveAll(filepath.Join(root, "checkouts"))
			third := r.commit("v3\n")
			var log bytes.Buffer
			o.Log = &log
			res, err := Fetch(context.Background(), o)
			if err != nil {
				t.Fatalf("%v\nlog:\n%s", err, log.String())
			}
			if res.Commit != third {
				t.Errorf("commit %s, want %s", res.Commit, third)
			}
			if got := readFile(t, filepath.Join(res.Dir, "deploy/app.yaml")); got != "v3\n" {
				t.Errorf("app.yaml = %q", got)
			}
			for file, want := range map[string]string{"README": "hello\n", "deploy/prod/svc.yaml": "prod\n"} {
				if got := readFile(t, filepath.Join(res.Dir, file)); got != want {
					t.Errorf("%s = %q, want %q", file, got, want)
				}
			}
			if recloned := strings.Contains(log.String(), "git: cloning "); recloned != tt.reclone {
				t.Errorf("recloned = %v, want %v; log:\n%s", recloned, tt.reclone, log.String())
			}
		})
	}
}

func TestFetchConcurrent(t *testing.T) {
	r := newTestRepo(t)
	cache := t.TempDir()
	refs := []struct{ ref, commit, content string }{
		{"main", r.second, "v2\n"},
		{"feature", r.feature, "feature\n"},
		{"v1", r.first, "v1\n"},
		{r.first[:8], r.first, "v1\n"},
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4*len(refs))
	for range 4 {
		for _, rf := range refs {
			wg.Go(func() {
				res, err := Fetch(context.Background(), Options{URL: r.url(), Ref: rf.ref, Path: "deploy", CacheDir: cache})
				if err != nil {
					errs <- fmt.Errorf("%s: %w", rf.ref, err)
					return
				}
				b, err := os.ReadFile(filepath.Join(res.Dir, "app.yaml"))
				if err != nil || string(b) != rf.content || res.Commit != rf.commit {
					errs <- fmt.Errorf("%s: got %s %q (%v), want %s %q", rf.ref, res.Commit, b, err, rf.commit, rf.content)
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestFetchCanceledWhileWaitingForLock(t *testing.T) {
	r := newTestRepo(t)
	cache := t.TempDir()
	root, err := cacheRoot(cache, r.url())
	if err != nil {
		t.Fatal(err)
	}
	unlock, _, err := lockDir(context.Background(), root, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithCancel(context.Background())
	waiting := make(chan struct{})
	log := writerFunc(func(p []byte) (int, error) {
		if strings.HasPrefix(string(p), "git: waiting for") {
			close(waiting)
		}
		return len(p), nil
	})
	done := make(chan error)
	go func() {
		_, err := Fetch(ctx, Options{URL: r.url(), CacheDir: cache, Log: log})
		done <- err
	}()
	<-waiting
	cancel()
	want := fmt.Sprintf("git: waiting for %s/lock: context canceled", root)
	if err := <-done; err == nil || err.Error() != want {
		t.Errorf("error:\n got: %v\nwant: %s", err, want)
	}
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
