package reconcile

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	rnet "github.com/reconcile-dev/reconcile/net"
)

// NodeApply sends files by digest; content goes only for what the host
// asks, and a host that still lacks it after that is an error, not a
// silent skip.
func TestApplyWithheld(t *testing.T) {
	cfg := rnet.NodeConfig{Node: "node-1", Files: []rnet.File{
		{Path: "/var/lib/reconcile/endpoints.json", Content: []byte("big\n")},
		{Path: "/var/lib/reconcile/state/revision", Content: []byte("abc\n")},
	}}
	tests := []struct {
		name    string
		held    map[string]string // what this process wrote to the host before
		dryRun  bool
		need    [][]string // the host's NeedContent on each call
		calls   int
		first   []string // files sent with content on the first call
		content []string // files sent with content on the second call
		wantErr string
	}{
		{name: "wrote another content before: sent at once", held: map[string]string{"/var/lib/reconcile/endpoints.json": "old"},
			need: [][]string{nil}, calls: 1, first: []string{"/var/lib/reconcile/endpoints.json"}},
		{name: "wrote the same content before", held: map[string]string{"/var/lib/reconcile/endpoints.json": digestOf("big\n")},
			need: [][]string{nil}, calls: 1},
		{name: "dry run never sends content", held: map[string]string{"/var/lib/reconcile/endpoints.json": "old"}, dryRun: true,
			need: [][]string{nil}, calls: 1},
		{name: "host holds every file", need: [][]string{nil}, calls: 1},
		{name: "host needs one", need: [][]string{{"/var/lib/reconcile/endpoints.json"}, nil}, calls: 2,
			content: []string{"/var/lib/reconcile/endpoints.json"}},
		{name: "host still needs it", need: [][]string{{"/var/lib/reconcile/endpoints.json"}, {"/var/lib/reconcile/endpoints.json"}}, calls: 2,
			content: []string{"/var/lib/reconcile/endpoints.json"}, wantErr: "node-1: agent apply still needs the content of /var/lib/reconcile/endpoints.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var sent []rnet.NodeConfig
			held := &heldFiles{m: tc.held}
			_, err := applyWithheld(cfg, held, tc.dryRun, func(c rnet.NodeConfig) (rnet.Result, error) {
				sent = append(sent, c)
				return rnet.Result{Node: "node-1", NeedContent: tc.need[len(sent)-1]}, nil
			})
			if got := errString(err); !strings.HasPrefix(got, tc.wantErr) || (tc.wantErr == "") != (err == nil) {
				t.Errorf("error %q, want %q", got, tc.wantErr)
			}
			if len(sent) != tc.calls {
				t.Fatalf("%d calls, want %d", len(sent), tc.calls)
			}
			var first []string
			for _, f := range sent[0].Files {
				if f.SHA256 == "" || f.Size == 0 {
					t.Errorf("first call sent %+v without its digest", f)
				}
				if f.Content != nil {
					first = append(first, f.Path)
				}
			}
			if !slices.Equal(first, tc.first) {
				t.Errorf("first call sent content of %q, want %q", first, tc.first)
			}
			if err == nil && !tc.dryRun && held.m["/var/lib/reconcile/endpoints.json"] != digestOf("big\n") {
				t.Errorf("after a write, held %q", held.m)
			}
			if tc.calls > 1 {
				var content []string
				for _, f := range sent[1].Files {
					if f.Content != nil {
						content = append(content, f.Path)
					}
					if f.SHA256 == "" {
						t.Errorf("second call sent %s without its digest", f.Path)
					}
				}
				if !slices.Equal(content, tc.content) {
					t.Errorf("second call sent content of %q, want %q", content, tc.content)
				}
			}
			if rnet.ConfigHash(sent[0]) != rnet.ConfigHash(cfg) {
				t.Error("the config sent hashes differently from the config")
			}
			if cfg.Files[0].Content == nil || cfg.Files[0].SHA256 != "" {
				t.Error("applyWithheld changed the caller's files")
			}
		})
	}
}

func digestOf(s string) string { return rnet.File{Content: []byte(s)}.WithDigest().SHA256 }

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// stateFiles digests each file once; a file whose content is replaced
// afterwards must carry its own digest, or the agent refuses the config.
func TestWithPendingDigest(t *testing.T) {
	cfg := rnet.NodeConfig{Node: "node-1", Files: []rnet.File{rnet.File{Path: PendingFile, Content: pendingJSON(nil)}.WithDigest()}}
	got := withPending(cfg, []PendingPod{{}})
	if err := rnet.Validate(got); err != nil {
		t.Error(err)
	}
	if rnet.ConfigHash(got) == rnet.ConfigHash(cfg) {
		t.Error("pending pods did not change the config's hash")
	}
}

// A pod resolv.conf the host merges its search domains into always goes
// with its content, even in a dry run: the host cannot merge a digest.
func TestApplyWithheldHostSearchFile(t *testing.T) {
	cfg := rnet.NodeConfig{Node: "node-1", Files: []rnet.File{
		{Path: "/var/lib/reconcile/endpoints.json", Content: []byte("big\n")},
		{Path: "/var/lib/reconcile/resolv/default-abc.conf", Content: []byte("nameserver 198.19.0.10\n"), HostSearchAt: 3},
	}}
	for _, dryRun := range []bool{false, true} {
		var sent rnet.NodeConfig
		if _, err := applyWithheld(cfg, &heldFiles{}, dryRun, func(c rnet.NodeConfig) (rnet.Result, error) {
			sent = c
			return rnet.Result{Node: "node-1"}, nil
		}); err != nil {
			t.Fatal(err)
		}
		if sent.Files[0].Content != nil || string(sent.Files[1].Content) != "nameserver 198.19.0.10\n" || sent.Files[1].HostSearchAt != 3 {
			t.Errorf("dry run %v: sent %+v", dryRun, sent.Files)
		}
	}
}

// A large file goes as chunks: after a write by this process, only the
// chunks it did not write last time; after the host asks, only those the
// host does not hold. Either way the host can rebuild the whole content.
func TestApplyWithheldChunks(t *testing.T) {
	const path = "/var/lib/reconcile/endpoints.json"
	records := func(changed int) []byte {
		var b strings.Builder
		for i := range 5000 {
			port := 80
			if i == changed {
				port = 8080
			}
			fmt.Fprintf(&b, "{\"name\": \"svc-%04d\", \"port\": %d, \"endpoints\": [\"10.1.0.2:80\", \"10.1.1.2:80\"]},\n", i, port)
		}
		return []byte(b.String())
	}
	old, next := records(-1), records(7)
	oldIDs := rnet.ChunkIDs(old)
	cfg := rnet.NodeConfig{Node: "node-1", Files: []rnet.File{{Path: path, Content: next}}}
	tests := []struct {
		name      string
		wroteOld  bool     // this process wrote old to the host before
		notedOld  bool     // a read noted that the host holds old (ReadFilesNoting)
		hostHolds []string // chunk ids the host answers with NeedContent (nil: it does not ask)
		calls     int
	}{
		{name: "wrote the old content before", wroteOld: true, calls: 1},
		{name: "a read noted the old content", notedOld: true, calls: 1},
		{name: "the host asks, holding the old content", hostHolds: oldIDs, calls: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			held := &heldFiles{}
			if tc.notedOld {
				held.note(map[string]rnet.HeldFile{path: rnet.DescribeHeld(old), "/var/lib/reconcile/state/revision": rnet.DescribeHeld([]byte("old\n"))})
			}
			if tc.wroteOld {
				if _, err := applyWithheld(rnet.NodeConfig{Node: "node-1", Files: []rnet.File{{Path: path, Content: old}}}, held, false,
					func(rnet.NodeConfig) (rnet.Result, error) { return rnet.Result{}, nil }); err != nil {
					t.Fatal(err)
				}
			}
			var sent []rnet.NodeConfig
			_, err := applyWithheld(cfg, held, false, func(c rnet.NodeConfig) (rnet.Result, error) {
				sent = append(sent, c)
				if len(sent) == 1 && tc.hostHolds != nil {
					return rnet.Result{NeedContent: []string{path}, HeldChunks: map[string][]string{path: tc.hostHolds}}, nil
				}
				return rnet.Result{}, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(sent) != tc.calls {
				t.Fatalf("%d calls, want %d", len(sent), tc.calls)
			}
			f := sent[len(sent)-1].Files[0]
			have := map[string][]byte{} // the host's chunks: the old content's
			for _, c := range (rnet.File{Content: old}).Chunked(nil).Chunks {
				have[c.ID] = c.Content
			}
			var rebuilt []byte
			bytesSent := 0
			for _, c := range f.Chunks {
				p := c.Content
				if p == nil {
					if p = have[c.ID]; p == nil {
						t.Fatalf("chunk %s neither sent nor held", c.ID)
					}
				}
				bytesSent += len(c.Content)
				rebuilt = append(rebuilt, p...)
			}
			if !bytes.Equal(rebuilt, next) {
				t.Error("the chunks do not rebuild the content")
			}
			if f.Content != nil || len(f.Chunks) == 0 || bytesSent == 0 || bytesSent > len(next)/10 {
				t.Errorf("sent %d of %d bytes in %d chunks (content %d bytes)", bytesSent, len(next), len(f.Chunks), len(f.Content))
			}
			if f.SHA256 != digestOf(string(next)) || f.Size != len(next) {
				t.Error("the chunked file does not name its content's digest")
			}
			if !held.chunks[path][rnet.ChunkIDs(next)[0]] || held.m[path] != f.SHA256 {
				t.Error("the write did not record the chunks it left on the host")
			}
		})
	}
}
