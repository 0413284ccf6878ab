package gitsource

import (
	"context"
	"fmt"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// serveHTTP serves the repository's parent folder with git http-backend,
// asking for basic auth user:pass when user is set. Each request is
// passed to seen, when not nil, before it is served.
func serveHTTP(t *testing.T, r *testRepo, user, pass string, seen func(*http.Request)) string {
	t.Helper()
	backend := "/usr/lib/git-core/git-http-backend"
	if _, err := os.Stat(backend); err != nil {
		t.Skip("git-http-backend not installed")
	}
	h := &cgi.Handler{
		Path: backend,
		Env:  []string{"GIT_PROJECT_ROOT=" + filepath.Dir(r.bare), "GIT_HTTP_EXPORT_ALL=1"},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if seen != nil {
			seen(req)
		}
		if user != "" {
			u, p, ok := req.BasicAuth()
			if !ok {
				w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
				http.Error(w, "auth required", http.StatusUnauthorized)
				return
			}
			if u != user || p != pass {
				http.Error(w, "forbidden", http.StatusForbidden)
				return
			}
		}
		h.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/" + filepath.Base(r.bare)
}

func TestFetchOverHTTP(t *testing.T) {
	r := newTestRepo(t)
	tests := []struct {
		name       string
		serverUser string // "" = no auth
		env        map[string]string
		wantErr    string // %s is the URL
	}{
		{name: "anonymous"},
		{name: "token", serverUser: "git", env: map[string]string{TokenEnv: "s3cret"}},
		{name: "token with user name", serverUser: "bot", env: map[string]string{TokenEnv: "s3cret", UsernameEnv: "bot"}},
		{name: "user and password", serverUser: "bot", env: map[string]string{UsernameEnv: "bot", PasswordEnv: "s3cret"}},
		{name: "no credentials", serverUser: "git",
			wantErr: "git: cannot reach %s: authentication required (server said: auth required); set RECONCILE_GIT_TOKEN, or RECONCILE_GIT_USERNAME and RECONCILE_GIT_PASSWORD"},
		{name: "wrong token", serverUser: "git", env: map[string]string{TokenEnv: "wrong"},
			wantErr: "git: cannot reach %s: authorization failed (server said: forbidden); check the credentials in RECONCILE_GIT_TOKEN or RECONCILE_GIT_USERNAME/RECONCILE_GIT_PASSWORD"},
		{name: "user without password", serverUser: "git", env: map[string]string{UsernameEnv: "bot"},
			wantErr: "git: set both RECONCILE_GIT_USERNAME and RECONCILE_GIT_PASSWORD, or RECONCILE_GIT_TOKEN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{TokenEnv, UsernameEnv, PasswordEnv} {
				t.Setenv(k, tt.env[k])
			}
			url := serveHTTP(t, r, tt.serverUser, "s3cret", nil)
			res, err := Fetch(context.Background(), Options{URL: url, Ref: "v1", CacheDir: t.TempDir()})
			if tt.wantErr != "" {
				want := tt.wantErr
				if strings.Contains(want, "%s") {
					want = fmt.Sprintf(want, url)
				}
				if err == nil || err.Error() != want {
					t.Errorf("error:\n got: %v\nwant: %s", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Commit != r.first {
				t.Errorf("commit %s, want %s", res.Commit, r.first)
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://bot:s3cret@example.com/app.git", "https://bot:xxxxx@example.com/app.git"},
		{"https://bot@example.com/app.git", "https://bot@example.com/app.git"},
		{"git@example.com:app.git", "git@example.com:app.git"},
		{"ssh://git@example.com:2222/app.git", "ssh://git@example.com:2222/app.git"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := redactURL(tt.in); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}
