package agent

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"testing"

	rnet "github.com/reconcile-dev/reconcile/net"
)

// File contents travel raw after the JSON and come back exactly; the
// caller's files are left as they were, and a truncated or inconsistent
// payload is refused.
func TestApplyPayload(t *testing.T) {
	big := bytes.Repeat([]byte("{\"name\": \"svc\"}\n"), 5000)
	chunked := rnet.File{Path: "/var/lib/reconcile/endpoints.json", Content: big}.Chunked(nil)
	chunked.Chunks[1].Content = nil // held by the host: sent by id only
	req := ApplyRequest{Config: rnet.NodeConfig{Node: "node-1", Files: []rnet.File{
		{Path: "/var/lib/reconcile/state/revision", Content: []byte("abc\n")},
		{Path: "/var/lib/reconcile/state/pending.json", Content: []byte{}},
		rnet.File{Path: "/var/lib/reconcile/state/allocations.json", Content: []byte("{}")}.Withheld(),
		chunked,
	}}, Fence: "f"}
	want := req
	want.Config.Files = append([]rnet.File(nil), req.Config.Files...)
	sent := req
	payload := sent.detach()
	if !reflect.DeepEqual(req, want) {
		t.Fatal("detach changed the caller's request")
	}
	j, _ := json.Marshal(sent)
	if bytes.Contains(j, []byte("content")) || !sent.Deflated || len(payload) > len(big)/10 {
		t.Fatalf("contents left in the JSON (%d bytes) or missing from the payload (%d bytes)", len(j), len(payload))
	}
	stream := append(append([]byte(nil), j...), payload...)

	var got ApplyRequest
	rd := bytes.NewReader(stream)
	dec := json.NewDecoder(rd)
	if err := dec.Decode(&got); err != nil {
		t.Fatal(err)
	}
	if err := got.attach(io.MultiReader(dec.Buffered(), rd)); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("attached\n%+v\nwant\n%+v", got.Config.Files[:2], want.Config.Files[:2])
	}

	for _, tc := range []struct {
		name   string
		stream []byte
		edit   func(r *ApplyRequest)
		want   string
	}{
		{"truncated", stream[:len(stream)-10], nil, "bytes announced: unexpected EOF"},
		{"no such file", stream, func(r *ApplyRequest) { r.Detached[0].File = 9 }, "no such file or chunk"},
		{"no such chunk", stream, func(r *ApplyRequest) { r.Detached[len(r.Detached)-1].Chunk = 999 }, "no such file or chunk"},
		{"too much", stream, func(r *ApplyRequest) { r.Detached[0].Len = maxPayload + 1 }, "more than"},
	} {
		var r ApplyRequest
		rd := bytes.NewReader(tc.stream)
		dec := json.NewDecoder(rd)
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		if tc.edit != nil {
			tc.edit(&r)
		}
		if err := r.attach(io.MultiReader(dec.Buffered(), rd)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}
