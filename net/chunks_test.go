package net

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// endpointsLike is a file shaped like the endpoints file: many similar
// records, one per Service.
func endpointsLike(services int, port func(i int) int) []byte {
	var b bytes.Buffer
	b.WriteString("{\n  \"services\": [\n")
	for i := range services {
		fmt.Fprintf(&b, "    {\n      \"name\": \"svc-%04d\",\n      \"clusterIP\": \"198.18.%d.%d\",\n      \"ports\": [{\"port\": %d, \"endpoints\": [\"10.1.0.2:80\", \"10.1.1.2:80\", \"10.1.2.2:80\"]}]\n    },\n", i, i/250, i%250, port(i))
	}
	b.WriteString("  ]\n}\n")
	return b.Bytes()
}

// Chunks are cut by content: they add up to the file, stay within their
// bounds, and an edit anywhere changes only the chunks around it, so a
// one-Service change sends a few of them.
func TestCutChunks(t *testing.T) {
	base := endpointsLike(2000, func(int) int { return 80 })
	pieces := cutChunks(base)
	if !bytes.Equal(bytes.Join(pieces, nil), base) {
		t.Fatal("the chunks do not add up to the content")
	}
	for i, p := range pieces {
		if len(p) > chunkMax || (len(p) < chunkMin && i < len(pieces)-1) {
			t.Errorf("chunk %d: %d bytes, want %d to %d", i, len(p), chunkMin, chunkMax)
		}
	}
	if n := len(pieces); n < len(base)/(8<<chunkBits) || n > len(base)/chunkMin {
		t.Errorf("%d chunks of %d bytes: the average is off", n, len(base))
	}
	tests := []struct {
		name string
		edit []byte
	}{
		{"one port changed", endpointsLike(2000, func(i int) int { return map[bool]int{true: 8080, false: 80}[i == 7] })},
		{"one port in the middle", endpointsLike(2000, func(i int) int { return map[bool]int{true: 8080, false: 80}[i == 1000] })},
		{"one Service more", endpointsLike(2001, func(int) int { return 80 })},
		{"bytes inserted", slices.Concat(base[:len(base)/3], []byte("inserted"), base[len(base)/3:])},
		{"bytes removed", slices.Concat(base[:len(base)/2], base[len(base)/2+100:])},
	}
	held := map[string]bool{}
	for _, id := range ChunkIDs(base) {
		held[id] = true
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := File{Path: "/var/lib/reconcile/endpoints.json", Content: tc.edit}.Chunked(held)
			sent := 0
			for _, c := range f.Chunks {
				sent += len(c.Content)
			}
			if sent == 0 || sent > len(tc.edit)/10 {
				t.Errorf("sent %d of %d bytes", sent, len(tc.edit))
			}
		})
	}
}

// The host rebuilds a chunked file from the chunks sent and those of the
// file it holds; one it cannot rebuild is asked for with the chunks it
// holds, and nothing is changed.
func TestApplyChunkedFile(t *testing.T) {
	dir := ownedTempDir(t)
	path := filepath.Join(dir, "endpoints.json")
	old := endpointsLike(500, func(int) int { return 80 })
	next := endpointsLike(500, func(i int) int { return map[bool]int{true: 8080, false: 80}[i == 7] })
	held := map[string]bool{}
	for _, id := range ChunkIDs(old) {
		held[id] = true
	}
	chunked := File{Path: path, Content: next}.Chunked(held)
	missing := chunked
	missing.Chunks = slices.Clone(chunked.Chunks)
	for i := range missing.Chunks {
		missing.Chunks[i].Content = nil // the changed chunk too
	}
	wrong := chunked
	wrong.Chunks = slices.Clone(chunked.Chunks)
	for i, c := range wrong.Chunks {
		if c.Content != nil {
			wrong.Chunks[i].Content = bytes.ToUpper(c.Content) // does not match the file's digest
			break
		}
	}
	tests := []struct {
		name  string
		f     File
		write bool // else: NeedContent, nothing written
	}{
		{"the changed chunks sent", chunked, true},
		{"a chunk neither sent nor held", missing, false},
		{"rebuilt content not matching the digest", wrong, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(path, old, 0o644); err != nil {
				t.Fatal(err)
			}
			cfg := NodeConfig{Node: "node-1", Files: []File{tc.f}, StateFile: filepath.Join(dir, "state.json")}
			res, err := Apply(context.Background(), cfg, false)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(path)
			if tc.write {
				if !bytes.Equal(got, next) || len(res.NeedContent) > 0 {
					t.Errorf("file not rebuilt (%d bytes), need %q", len(got), res.NeedContent)
				}
				return
			}
			if !bytes.Equal(got, old) || !slices.Equal(res.NeedContent, []string{path}) {
				t.Errorf("need %q, file changed: %v", res.NeedContent, !bytes.Equal(got, old))
			}
			if !slices.Equal(res.HeldChunks[path], ChunkIDs(old)) {
				t.Errorf("held chunks %d, want the %d of the file", len(res.HeldChunks[path]), len(ChunkIDs(old)))
			}
		})
	}
}

func TestValidateChunks(t *testing.T) {
	f := File{Path: "/var/lib/reconcile/endpoints.json", Content: endpointsLike(100, func(int) int { return 80 })}
	withContent := f.Chunked(nil)
	withContent.Content = f.Content
	noDigest := f.Chunked(nil)
	noDigest.SHA256 = ""
	tooMany := f.Chunked(nil)
	tooMany.Chunks = make([]Chunk, maxChunks+1)
	tooBig := f.Chunked(nil)
	tooBig.Size = maxReadSize + 1
	for _, tc := range []struct {
		name string
		f    File
		want string
	}{
		{"chunks and content", withContent, "chunks go with a sha256 and no content"},
		{"chunks without a digest", noDigest, "chunks go with a sha256 and no content"},
		{"too many chunks", tooMany, fmt.Sprintf("more than %d", maxChunks)},
		{"a size beyond what a file may be", tooBig, "out of range"},
	} {
		err := Validate(NodeConfig{Files: []File{tc.f}})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	if err := Validate(NodeConfig{Files: []File{f.Chunked(nil)}}); err != nil {
		t.Error(err)
	}
	if ConfigHash(NodeConfig{Files: []File{f.Chunked(nil)}}) != ConfigHash(NodeConfig{Files: []File{f}}) {
		t.Error("a chunked file hashes differently from its content")
	}
}

// A host describes the files it holds by digest, size and (large ones)
// chunk ids, the same description a sender makes of content it has.
func TestHeldFiles(t *testing.T) {
	dir := ownedTempDir(t)
	big, small := filepath.Join(dir, "endpoints.json"), filepath.Join(dir, "revision")
	bigContent := endpointsLike(1000, func(int) int { return 80 })
	if err := os.WriteFile(big, bigContent, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(small, []byte("abc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got := HeldFiles([]string{big, small, filepath.Join(dir, "missing"), "/etc/passwd"})
	if len(got) != 2 {
		t.Fatalf("held %v", got)
	}
	if h := got[big]; h.SHA256 != contentDigest(bigContent) || h.Size != len(bigContent) || !slices.Equal(h.Chunks, ChunkIDs(bigContent)) {
		t.Errorf("large file: %+v", h)
	}
	if h := got[small]; h.Chunks != nil || h.Size != 4 || h.SHA256 != contentDigest([]byte("abc\n")) {
		t.Errorf("small file: %+v", h)
	}
	if !reflectDeepEqual(DescribeHeld(bigContent), got[big]) {
		t.Error("DescribeHeld differs from the host's description")
	}
}

func reflectDeepEqual(a, b HeldFile) bool {
	return a.SHA256 == b.SHA256 && a.Size == b.Size && slices.Equal(a.Chunks, b.Chunks)
}
