package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	rnet "github.com/reconcile-dev/reconcile/net"
)

// serveVerb runs a verb as `reconcile node <verb>` does.
func serveVerb(name string, ctx context.Context, in io.Reader, out io.Writer) error {
	for _, v := range Verbs {
		if v.Name == name {
			return v.Run(ctx, in, out)
		}
	}
	panic("no verb " + name)
}

// Moved from net (LockAgent, ReadAgent, Agent) with the verb table.
func TestLockAgent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	in := fmt.Sprintf(`{"op":"acquire","id":"a","owner":"apply by x@y pid 1","ttlSeconds":30,"path":%q}`, path)
	var out bytes.Buffer
	if err := serveVerb(Lock.Name, context.Background(), strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	var res rnet.LockResponse
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || !res.Held || res.Now.IsZero() {
		t.Fatalf("response %s: %v", out.String(), err)
	}
	if strings.Contains(out.String(), `"holder"`) {
		t.Errorf("response names a holder when the requester holds it: %s", out.String())
	}
	if err := serveVerb(Lock.Name, context.Background(), strings.NewReader("not json"), &out); err == nil || !strings.HasPrefix(err.Error(), "read lock request from stdin: ") {
		t.Errorf("bad stdin: error %v", err)
	}
}

// The read verb's framing: which paths the agent may read is net's rule,
// tested there with a temporary folder it owns; here, a file outside is
// refused and a missing one inside answers no content.
func TestReadAgent(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "allocations.json")
	if err := os.WriteFile(outside, []byte(`{"a":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	in, _ := json.Marshal(ReadRequest{Paths: []string{outside}})
	var out bytes.Buffer
	err := serveVerb(Read.Name, context.Background(), bytes.NewReader(in), &out)
	if err == nil || !strings.Contains(err.Error(), "outside the directories reconcile owns") || out.String() != `{"files":null}`+"\n" {
		t.Errorf("reading %s: err %v, answer %q", outside, err, out.String())
	}
	missing := fmt.Sprintf("/var/lib/reconcile/agent-test-missing-%d.json", os.Getpid())
	in, _ = json.Marshal(ReadRequest{Paths: []string{missing}})
	out.Reset()
	if err := serveVerb(Read.Name, context.Background(), bytes.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	if want := `{"files":{}}` + "\n"; out.String() != want {
		t.Errorf("read verb wrote %s, want %s", out.String(), want)
	}
}

func TestAgentRejectsBadConfig(t *testing.T) {
	in := `{"config":{"node":"node-1","services":[{"namespace":"a","name":"b","clusterIP":"nope","ports":[{"port":80}]}]},"dryRun":true}`
	var out bytes.Buffer
	err := serveVerb(Apply.Name, context.Background(), strings.NewReader(in), &out)
	if err == nil || err.Error() != `service a/b: clusterIP "nope": want an IPv4 address` {
		t.Errorf("err = %v", err)
	}
	if want := `{"node":"node-1","changes":[],"drift":false}` + "\n"; out.String() != want {
		t.Errorf("out = %s, want %s", out.String(), want)
	}
}

// The teardown verb refuses a file outside the directories reconcile owns
// before it looks at anything, dry run or not.
func TestTeardownAgentRefusesOutside(t *testing.T) {
	in, _ := json.Marshal(TeardownRequest{Node: "node-1", Files: []string{"/etc/passwd"}, DryRun: true})
	var out bytes.Buffer
	err := serveVerb(Teardown.Name, context.Background(), bytes.NewReader(in), &out)
	if err == nil || err.Error() != "teardown: path /etc/passwd is outside the directories reconcile owns (/var/lib/reconcile, /run/reconcile); refused" {
		t.Errorf("err = %v", err)
	}
	if want := `{"node":"node-1","changes":[],"drift":false}` + "\n"; out.String() != want {
		t.Errorf("out = %s, want %s", out.String(), want)
	}
}
