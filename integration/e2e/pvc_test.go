package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

const dataPVC = `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
`

// dbWithClaim is a one-pod Deployment (RollingUpdate, the default) that
// mounts claim data at /data; rev goes in its env, so a new rev rolls it.
func dbWithClaim(rev string) string {
	return web("db", "nginx:1.0", 1, "", `        env: [{name: REV, value: "`+rev+`"}]
        volumeMounts: [{name: data, mountPath: /data}]
      volumes:
      - name: data
        persistentVolumeClaim: {claimName: data}
`)
}

// claimRow is what the test reads of `get pvc -o json`.
type claimRow struct {
	Metadata struct {
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Spec struct {
		VolumeName string `json:"volumeName"`
	} `json:"spec"`
	Status struct {
		Phase string `json:"phase"`
	} `json:"status"`
}

func (e *env) claim(name string) claimRow {
	e.t.Helper()
	r := e.mustRun(0, e.fromGit("get", "pvc", name, "-o", "json")...)
	var c claimRow
	if err := json.Unmarshal([]byte(r.stdout), &c); err != nil {
		e.t.Fatalf("get pvc -o json: %v\n%s", err, r.stdout)
	}
	return c
}

// volumesOn lists the Docker volumes of a host whose name contains sub.
func (e *env) volumesOn(node, sub string) string {
	e.t.Helper()
	var out []string
	for _, v := range strings.Fields(e.mustExec(node, "docker", "volume", "ls", "-q")) {
		if strings.Contains(v, sub) {
			out = append(out, v)
		}
	}
	return strings.Join(out, " ")
}

// A claim's data survives its pod deleted by hand and a rollout: the new
// pod lands on the node holding the volume and reads what the old one
// wrote. Removed from git, the volume is reported and kept; only
// --prune-volumes deletes it.
func TestPVCDataSurvivesPodReplacementAndRollout(t *testing.T) {
	e := newEnv(t)
	const volSub = "-pvc-default.data"
	// Cleanups run last first: the lab's usual Deployment (which stops the
	// pod), then this test's volume if a failure left it.
	t.Cleanup(func() {
		for _, h := range e.l.Hosts {
			for _, v := range strings.Fields(e.volumesOn(h.Name, volSub)) {
				e.exec(h.Name, "docker", "volume", "rm", v)
			}
		}
	})
	t.Cleanup(func() {
		e.push(web("solo", "nginx:1.0", 1, "", ""))
		if r := e.run(e.fromGit("apply")...); r.code != 0 {
			t.Errorf("cleanup apply: %s", r)
		}
	})

	e.push(dataPVC, dbWithClaim("1"))
	if r := e.mustRun(0, e.fromGit("validate")...); !strings.Contains(r.stdout+r.stderr, "rolls with Recreate semantics: ReadWriteOnce PersistentVolumeClaim default/data") {
		t.Errorf("validate does not say the Deployment rolls with Recreate semantics:\n%s", r)
	}
	e.mustRun(0, e.fromGit("apply")...)
	ps := e.pods("app=db")
	if len(ps) != 1 {
		t.Fatalf("%d pods of db, want 1", len(ps))
	}
	node, first := ps[0].Spec.NodeName, ps[0].Metadata.Name
	c := e.claim("data")
	if c.Status.Phase != "Bound" || c.Metadata.Annotations["volume.kubernetes.io/selected-node"] != node || !strings.HasSuffix(c.Spec.VolumeName, volSub) {
		t.Fatalf("claim %+v, want Bound on %s", c, node)
	}
	vol := c.Spec.VolumeName
	for _, h := range e.l.Hosts {
		got := e.volumesOn(h.Name, volSub)
		if want := map[bool]string{true: vol, false: ""}[h.Name == node]; got != want {
			t.Errorf("%s holds volumes %q, want %q", h.Name, got, want)
		}
	}
	e.mustExec(node, "docker", "exec", first, "/podserver", "write", "/data/note", "written-by-"+first)
	want := "written-by-" + first

	// readBack waits for the one ready pod of db other than old and
	// checks it is on node and reads the note.
	readBack := func(when, old string) string {
		t.Helper()
		var p pod
		eventually(t, 90*time.Second, func() error {
			ps := e.pods("app=db")
			if len(ps) != 1 || ps[0].Metadata.Name == old || !ps[0].ready() {
				return fmt.Errorf("%s: pods %+v, want one new ready pod", when, ps)
			}
			p = ps[0]
			return nil
		})
		if p.Spec.NodeName != node {
			t.Fatalf("%s: the new pod %s is on %s, want %s (its claim's node)", when, p.Metadata.Name, p.Spec.NodeName, node)
		}
		out, err := e.exec(node, "docker", "exec", p.Metadata.Name, "/podserver", "cat", "/data/note")
		if err != nil || strings.TrimSpace(out) != want {
			t.Errorf("%s: /data/note in %s: %q (%v), want %q", when, p.Metadata.Name, out, err, want)
		}
		return p.Metadata.Name
	}

	// Deleted by hand: the next sync pass starts its replacement there.
	e.mustExec(node, "docker", "rm", "-f", first)
	e.mustRun(0, e.fromGit("sync", "--once")...)
	second := readBack("after docker rm -f", first)

	// A rollout (RollingUpdate, rolled as Recreate): same node, same data.
	e.push(dataPVC, dbWithClaim("2"))
	r := e.mustRun(0, e.fromGit("apply", "--log-format", "json")...)
	third := readBack("after a rollout", second)
	del := strings.Index(r.stderr, `"object":"pod/`+second+`","action":"delete"`)
	cre := strings.Index(r.stderr, `"object":"pod/`+third+`","action":"create"`)
	if del < 0 || cre < 0 || del > cre {
		t.Errorf("the old pod was not stopped before the new one started (Recreate semantics):\n%s", r)
	}

	// The agent measured the note: USED is its size, not <unknown>. With
	// no STORAGECLASS the row's fields are NAME STATUS VOLUME CAPACITY
	// MODES NODE USED AGE VOLUMEMODE.
	r = e.mustRun(0, e.fromGit("get", "pvc", "-o", "wide")...)
	t.Logf("get pvc -o wide:\n%s", r.stdout)
	if f := strings.Fields(strings.Split(r.stdout, "\n")[1]); len(f) != 9 || f[1] != "Bound" || f[5] != node || f[6] != fmt.Sprint(len(want)) {
		t.Errorf("get pvc -o wide: want data Bound on %s, %d bytes used:\n%s", node, len(want), r.stdout)
	}

	// Removed from git: reported, kept.
	e.push(web("solo", "nginx:1.0", 1, "", ""))
	kept := "PersistentVolumeClaim default/data: removed from git, volume kept on " + node + " (delete with --prune-volumes)"
	if r := e.mustRun(0, e.fromGit("apply", "--prune")...); !strings.Contains(r.stdout, kept) {
		t.Errorf("apply --prune does not report the kept volume %q:\n%s", kept, r)
	} else {
		t.Logf("apply --prune:\n%s", r)
	}
	if r := e.mustRun(1, e.fromGit("diff", "--prune-volumes")...); !strings.Contains(r.stdout, "- PersistentVolumeClaim default/data: removed from git, volume deleted on "+node) {
		t.Errorf("diff --prune-volumes does not show the deletion:\n%s", r)
	}
	if got := e.volumesOn(node, volSub); got != vol {
		t.Fatalf("after apply --prune %s holds %q, want %s kept", node, got, vol)
	}
	if c := e.claim("data"); c.Status.Phase != "Released" {
		t.Errorf("get pvc data: phase %q, want Released", c.Status.Phase)
	}
	// Only the explicit flag deletes it.
	deleted := "PersistentVolumeClaim default/data: removed from git, volume deleted on " + node
	if r := e.mustRun(0, e.fromGit("apply", "--prune", "--prune-volumes")...); !strings.Contains(r.stdout, deleted) {
		t.Errorf("apply --prune-volumes does not report %q:\n%s", deleted, r)
	}
	if got := e.volumesOn(node, volSub); got != "" {
		t.Errorf("after --prune-volumes %s still holds %q", node, got)
	}
}
