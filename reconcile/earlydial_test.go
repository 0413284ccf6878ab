package reconcile

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/reconcile-dev/reconcile/runtime"
)

// An early dial is handed over only for exactly the targets it dialled,
// and only once; anything else makes Connect dial on its own.
func TestEarlyDialAdopt(t *testing.T) {
	kh := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(kh, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// Port 1 on loopback refuses: the dial ends at once with an error,
	// which is what the run would have met dialling itself.
	ssh := runtime.SSHOptions{KnownHostsFile: kh, ConfigFile: os.DevNull}
	targets := []runtime.Target{{Name: "node-1", SSH: "root@127.0.0.1:1"}}
	other := []runtime.Target{{Name: "node-1", SSH: "root@127.0.0.1:2"}}
	cases := []struct {
		name    string
		targets []runtime.Target
		ssh     runtime.SSHOptions
		want    bool
	}{
		{"same targets", targets, ssh, true},
		{"another address", other, ssh, false},
		{"one more node", append(slices.Clone(targets), other...), ssh, false},
		{"other ssh options", targets, runtime.SSHOptions{KnownHostsFile: kh, ConfigFile: os.DevNull, KeyFiles: []string{"k"}}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := StartEarlyDial(context.Background(), targets, ConnectOptions{SSH: ssh})
			defer e.Close()
			conns, errs, ok := e.adopt(c.targets, c.ssh)
			if ok != c.want {
				t.Fatalf("adopt = %v, want %v", ok, c.want)
			}
			if !ok {
				return
			}
			if len(conns) != 0 || errs["node-1"] == nil {
				t.Fatalf("want node-1 unreachable, got conns %v errs %v", conns, errs)
			}
			if _, _, again := e.adopt(c.targets, c.ssh); again {
				t.Fatal("adopted twice")
			}
		})
	}
	var none *EarlyDial // no memo: nothing started, and every use is safe
	if _, _, ok := none.adopt(targets, ssh); ok {
		t.Fatal("nil dial adopted")
	}
	none.Close()
	if StartEarlyDial(context.Background(), nil, ConnectOptions{}) != nil {
		t.Fatal("a dial of no targets started")
	}
}

func TestInventoryMemo(t *testing.T) {
	dir := t.TempDir()
	a := SourceOptions{Repo: "ssh://git@example.com/a.git", Path: "prod", CacheDir: dir}
	b := SourceOptions{Repo: "ssh://git@example.com/a.git", Path: "staging", CacheDir: dir}
	ts := []runtime.Target{{Name: "node-1", SSH: "root@node-1"}, {Name: "node-2", SSH: "root@node-2:2222", DockerHost: "unix:///run/d.sock"}}
	if got := RecallTargets(a); got != nil {
		t.Fatalf("empty cache recalled %v", got)
	}
	RememberTargets(a, nil, ts)
	if got := RecallTargets(a); !slices.Equal(got, ts) {
		t.Fatalf("recalled %v, want %v", got, ts)
	}
	if got := RecallTargets(b); got != nil {
		t.Fatalf("another path of the repo recalled %v", got)
	}
	// A memo past the bound, or not JSON, is no memo.
	p, _ := inventoryMemoPath(a)
	for _, bad := range [][]byte{make([]byte, maxInventoryMemo+1), []byte("{")} {
		if err := os.WriteFile(p, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		if got := RecallTargets(a); got != nil {
			t.Fatalf("bad memo recalled %v", got)
		}
	}
}
