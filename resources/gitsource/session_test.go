package gitsource

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// connCounter is a TCP proxy in front of an address, on a port of its
// own, that counts the connections it accepts: each SSH connection a
// fetch opens is one.
type connCounter struct {
	port int
	n    atomic.Int32
}

func countConns(t testing.TB, addr string) *connCounter {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	c := &connCounter{port: l.Addr().(*net.TCPAddr).Port}
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			c.n.Add(1)
			go func() {
				defer in.Close()
				out, err := net.Dial("tcp", addr)
				if err != nil {
					return
				}
				defer out.Close()
				go func() {
					_, _ = io.Copy(out, in)
					_ = out.(*net.TCPConn).CloseWrite()
				}()
				_, _ = io.Copy(in, out)
			}()
		}
	}()
	return c
}

// sshThroughCounter is Options for fetching r over the sshd through a
// connCounter; known_hosts names the proxy's port.
func sshThroughCounter(t testing.TB, s *sshServer, r *testRepo) (Options, *connCounter) {
	t.Helper()
	c := countConns(t, s.addr())
	kh := writeTemp(t, fmt.Sprintf("[127.0.0.1]:%d %s\n", c.port, s.hostKeys["ed25519"]))
	return Options{
		URL:            fmt.Sprintf("ssh://%s@127.0.0.1:%d%s", s.user, c.port, r.bare),
		Ref:            "main",
		CacheDir:       t.TempDir(),
		SSHKeyFile:     s.clientKey,
		KnownHostsFile: kh,
	}, c
}

// fetchSteps are fetches one after the other into one cache, each after
// a change to the remote (or none), with the commit each must land on.
func fetchSteps(r *testRepo) []struct {
	name   string
	ref    string
	change func() string // changes the remote, returns the commit to expect
} {
	return []struct {
		name   string
		ref    string
		change func() string
	}{
		{"first clone", "main", func() string { return r.second }},
		{"unchanged remote", "main", func() string { return r.second }},
		{"new commit on the branch", "main", func() string { return r.commit("v3\n") }},
		{"other branch, already cached", "feature", func() string { return r.feature }},
		{"new branch", "hotfix", func() string {
			runGit(r.t, r.work, "checkout", "-q", "-b", "hotfix", r.first)
			writeFile(r.t, filepath.Join(r.work, "deploy/app.yaml"), "hotfix\n")
			runGit(r.t, r.work, "commit", "-q", "-am", "hotfix")
			runGit(r.t, r.work, "push", "-q", r.bare, "hotfix")
			sha := runGit(r.t, r.work, "rev-parse", "HEAD")
			runGit(r.t, r.work, "checkout", "-q", "main")
			return sha
		}},
	}
}

// TestFetchOneSSHConnection checks that a fetch opens one SSH
// connection, the same for an unchanged remote (listing only) and a
// changed one (listing, then the pack on that connection).
func TestFetchOneSSHConnection(t *testing.T) {
	s := startSSHD(t)
	r := newTestRepo(t)
	o, conns := sshThroughCounter(t, s, r)
	for _, step := range fetchSteps(r) {
		// Out here: the change fails through r.t, this test's, not the subtest's.
		want := step.change()
		t.Run(step.name, func(t *testing.T) {
			before := conns.n.Load()
			o.Ref = step.ref
			res, err := Fetch(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			if res.Commit != want {
				t.Errorf("commit %s, want %s", res.Commit, want)
			}
			if n := conns.n.Load() - before; n != 1 {
				t.Errorf("%d SSH connections, want 1", n)
			}
		})
	}
}

// TestFetchHTTPRequests checks the requests a fetch over HTTP makes: the
// advertisement once, and the pack only when something is missing.
func TestFetchHTTPRequests(t *testing.T) {
	r := newTestRepo(t)
	var mu sync.Mutex
	var seen []string
	url := serveHTTP(t, r, "", "", func(req *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, req.Method+" "+req.URL.Path[strings.LastIndex(req.URL.Path, "/")+1:])
	})
	const list, pack = "GET refs", "POST git-upload-pack"
	wants := map[string][]string{
		"first clone":                  {list, pack},
		"unchanged remote":             {list},
		"new commit on the branch":     {list, pack},
		"other branch, already cached": {list},
		"new branch":                   {list, pack},
	}
	o := Options{URL: url, CacheDir: t.TempDir()}
	for _, step := range fetchSteps(r) {
		// Out here: the change fails through r.t, this test's, not the subtest's.
		want := step.change()
		t.Run(step.name, func(t *testing.T) {
			mu.Lock()
			seen = nil
			mu.Unlock()
			o.Ref = step.ref
			res, err := Fetch(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			if res.Commit != want {
				t.Errorf("commit %s, want %s", res.Commit, want)
			}
			mu.Lock()
			defer mu.Unlock()
			if !slices.Equal(seen, wants[step.name]) {
				t.Errorf("requests %q, want %q", seen, wants[step.name])
			}
		})
	}
}

// BenchmarkFetchChangedOverSSH times a fetch over SSH that finds a new
// commit on the branch: the case that pays for the pack.
func BenchmarkFetchChangedOverSSH(b *testing.B) { benchFetchOverSSH(b, true) }

// BenchmarkFetchUnchangedOverSSH times a fetch over SSH that finds the
// commit cached: the listing alone.
func BenchmarkFetchUnchangedOverSSH(b *testing.B) { benchFetchOverSSH(b, false) }

func benchFetchOverSSH(b *testing.B, changed bool) {
	s := startSSHD(b)
	r := newTestRepo(b)
	o, conns := sshThroughCounter(b, s, r)
	if _, err := Fetch(context.Background(), o); err != nil {
		b.Fatal(err)
	}
	before := conns.n.Load()
	b.ResetTimer()
	for i := range b.N {
		if changed {
			b.StopTimer()
			r.commit(fmt.Sprintf("v%d\n", i))
			b.StartTimer()
		}
		if _, err := Fetch(context.Background(), o); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(conns.n.Load()-before)/float64(b.N), "conns/op")
}

// TestFetchMirrorsRefs checks that a fetch leaves the cache with the
// remote's branches and tags: new ones added, force-pushed ones moved,
// deleted ones removed. Each step also puts a new commit on main, which
// the fetch of main lacks, so each fetches a pack.
func TestFetchMirrorsRefs(t *testing.T) {
	r := newTestRepo(t)
	cache := t.TempDir()
	root, _ := cacheRoot(cache, r.url())
	push := func(args ...string) { runGit(t, r.work, append([]string{"push", "-q", r.bare}, args...)...) }
	steps := []struct {
		name   string
		change func()
	}{
		{"first clone", func() {}},
		{"branch and tag added", func() {
			runGit(t, r.work, "branch", "extra", r.first)
			runGit(t, r.work, "tag", "-a", "-m", "v2", "v2", r.second)
			push("extra", "v2")
		}},
		{"branch deleted", func() { push(":extra") }},
		{"tags deleted and moved", func() {
			push(":refs/tags/v0")
			runGit(t, r.work, "tag", "-f", "-a", "-m", "v1 again", "v1", r.feature)
			push("-f", "v1")
		}},
		{"main force-pushed", func() {
			runGit(t, r.work, "reset", "-q", "--hard", r.first)
			writeFile(t, filepath.Join(r.work, "deploy/app.yaml"), "rewritten\n")
			runGit(t, r.work, "commit", "-q", "-am", "rewritten")
			push("-f", "main")
		}},
	}
	for _, step := range steps {
		step.change()
		want := r.commit(step.name + "\n")
		t.Run(step.name, func(t *testing.T) {
			res, err := Fetch(context.Background(), Options{URL: r.url(), Ref: "main", CacheDir: cache})
			if err != nil {
				t.Fatal(err)
			}
			if res.Commit != want {
				t.Errorf("commit %s, want %s", res.Commit, want)
			}
			refs := func(dir string) string {
				return runGit(t, dir, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads", "refs/tags")
			}
			if got, want := refs(filepath.Join(root, "repo.git")), refs(r.bare); got != want {
				t.Errorf("cache refs:\n%s\nwant the remote's:\n%s", got, want)
			}
			// What git itself makes of the cache: every object there and whole.
			runGit(t, filepath.Join(root, "repo.git"), "fsck", "--no-dangling", "--strict")
		})
	}
}

// TestFetchAfterWaitingForLock checks a fetch that listed the remote,
// then waited for the cache lock while the remote changed, and lacks the
// commit it resolved: it fetches on a new session (its first one sat
// idle), and still lands on the commit it listed, or says the ref moved
// when the remote no longer has that commit.
func TestFetchAfterWaitingForLock(t *testing.T) {
	tests := []struct {
		name    string
		change  func(r *testRepo) // while the fetch waits
		wantErr string            // %[1]s is the listed commit, %[2]s the URL
	}{
		{name: "remote unchanged", change: func(*testRepo) {}},
		{name: "branch moved on", change: func(r *testRepo) { r.commit("v4\n") }},
		{name: "branch force-pushed", change: func(r *testRepo) {
			runGit(r.t, r.work, "reset", "-q", "--hard", r.first)
			writeFile(r.t, filepath.Join(r.work, "deploy/app.yaml"), "rewritten\n")
			runGit(r.t, r.work, "commit", "-q", "-am", "rewritten")
			runGit(r.t, r.work, "push", "-q", "-f", r.bare, "main")
		}, wantErr: "git: commit %[1]s of refs/heads/main is missing after fetching %[2]s; the ref moved during the fetch, try again"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRepo(t)
			cache := t.TempDir()
			o := Options{URL: r.url(), Ref: "main", CacheDir: cache}
			if _, err := Fetch(context.Background(), o); err != nil {
				t.Fatal(err)
			}
			listed := r.commit("v3\n")
			root, _ := cacheRoot(cache, r.url())
			unlock, _, err := lockDir(context.Background(), root, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			waiting := make(chan struct{})
			var once sync.Once
			o.Log = writerFunc(func(p []byte) (int, error) {
				if strings.HasPrefix(string(p), "git: waiting for") {
					once.Do(func() { close(waiting) })
				}
				return len(p), nil
			})
			type result struct {
				res *Result
				err error
			}
			done := make(chan result)
			go func() {
				res, err := Fetch(context.Background(), o)
				done <- result{res, err}
			}()
			<-waiting
			tt.change(r)
			unlock()
			got := <-done
			if tt.wantErr != "" {
				want := fmt.Sprintf(tt.wantErr, listed, r.url())
				if got.err == nil || got.err.Error() != want {
					t.Errorf("error:\n got: %v\nwant: %s", got.err, want)
				}
				return
			}
			if got.err != nil {
				t.Fatal(got.err)
			}
			if got.res.Commit != listed {
				t.Errorf("commit %s, want the listed %s", got.res.Commit, listed)
			}
		})
	}
}
