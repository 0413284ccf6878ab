package reconcile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestRolloutStatusMessages pins kubectl's wording for each stage of a
// rollout (testdata/rollout-status.golden; -update rewrites it).
func TestRolloutStatusMessages(t *testing.T) {
	cases := []DeploymentStatus{
		{Name: "web", Replicas: 3, Updated: 0, Old: 3},
		{Name: "web", Replicas: 3, Updated: 1, Old: 3},
		{Name: "web", Replicas: 3, Updated: 3, Ready: 2, Old: 1},
		{Name: "web", Replicas: 3, Updated: 3, Ready: 1},
		{Name: "web", Replicas: 3, Updated: 3, Ready: 3},
		{Name: "web", Replicas: 0},
	}
	var out bytes.Buffer
	for _, st := range cases {
		msg, done := RolloutStatusMessage(st)
		fmt.Fprintf(&out, "replicas=%d updated=%d ready=%d old=%d done=%v\n  %s\n", st.Replicas, st.Updated, st.Ready, st.Old, done, msg)
	}
	golden := filepath.Join("testdata", "rollout-status.golden")
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("got:\n%s\nwant:\n%s", out.Bytes(), want)
	}
}

func TestWaitRollout(t *testing.T) {
	ctx := context.Background()
	hosts, _ := fakeHosts()
	v1 := loadDesired(t, deployment("web", "nginx:1", 3, ""))
	if _, err := Apply(ctx, v1, hosts, map[string]error{}, ApplyOptions{PollInterval: time.Millisecond}); err != nil {
		t.Fatal(err)
	}

	t.Run("complete", func(t *testing.T) {
		var out bytes.Buffer
		if err := WaitRollout(ctx, v1, hosts, "default", "web", &out, WaitRolloutOptions{PollInterval: time.Millisecond}); err != nil {
			t.Fatal(err)
		}
		if got, want := out.String(), "deployment \"web\" successfully rolled out\n"; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})

	t.Run("progress deadline", func(t *testing.T) {
		// The hosts still run v1: nothing moves towards v2.
		v2 := loadDesired(t, deployment("web", "nginx:2", 3, "  progressDeadlineSeconds: 5\n"))
		now := time.Unix(0, 0)
		clock := func() time.Time { now = now.Add(time.Second); return now }
		var out bytes.Buffer
		err := WaitRollout(ctx, v2, hosts, "default", "web", &out, WaitRolloutOptions{PollInterval: time.Millisecond, Now: clock})
		var re *RolloutError
		if !errors.As(err, &re) || err.Error() != `deployment "web" exceeded its progress deadline` {
			t.Fatalf("err = %v, want a RolloutError for the progress deadline", err)
		}
		if got, want := out.String(), "Waiting for deployment \"web\" rollout to finish: 0 out of 3 new replicas have been updated...\n"; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})

	t.Run("timeout", func(t *testing.T) {
		v2 := loadDesired(t, deployment("web", "nginx:2", 3, ""))
		tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		err := WaitRollout(tctx, v2, hosts, "default", "web", &bytes.Buffer{}, WaitRolloutOptions{PollInterval: time.Millisecond})
		var re *RolloutError
		if !errors.As(err, &re) {
			t.Fatalf("err = %v, want a RolloutError", err)
		}
	})

	t.Run("not declared", func(t *testing.T) {
		var nf *NotFoundError
		if err := WaitRollout(ctx, v1, hosts, "default", "nope", &bytes.Buffer{}, WaitRolloutOptions{}); !errors.As(err, &nf) {
			t.Fatalf("err = %v, want NotFoundError", err)
		}
	})
}
