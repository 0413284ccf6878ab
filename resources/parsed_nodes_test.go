package resources

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// nodeSamples are YAML streams with what a parsed node can carry: styles,
// tags, anchors without aliases, comments in every place, multi-document
// streams, empty and null documents, JSON, flow collections, block scalars.
var nodeSamples = []string{
	"",
	"---\n",
	"a: b\n",
	"# head\na: b # line\n# foot\n\nc: [1, 2, {d: e}]\n",
	"---\nkind: Service\n---\n---\nkind: Deployment\n...\n",
	"~\n---\nnull\n---\nx: 1\n",
	`{"apiVersion": "v1", "kind": "ConfigMap", "data": {"k": "v\u00e9"}}`,
	"a: &anchor {b: c}\nd: !!str 1\ne: !custom x\nf: 'single'\ng: \"double\\n\"\n",
	"s: |\n  line one\n  line two\nt: >-\n  folded\n  text\n",
	"- a\n- - b\n  - c\n-\n  - {}\n  - []\n",
	"key with spaces: value\n? complex\n: mapped\n",
	"x: " + strings.Repeat("y", 300) + "\n",
}

func TestParsedNodesRoundTrip(t *testing.T) {
	samples := append([]string(nil), nodeSamples...)
	// Every manifest the tests hold, broken ones included.
	files, _ := filepath.Glob("testdata/*/*.yaml")
	more, _ := filepath.Glob("testdata/*/*/*.yaml")
	for _, f := range append(files, more...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		samples = append(samples, string(b))
	}
	tried := 0
	for i, s := range samples {
		docs, err := splitDocuments([]byte(s))
		if err != nil {
			continue
		}
		enc, ok := encodeNodes(docs)
		if !ok {
			if !strings.Contains(s, "*") {
				t.Errorf("sample %d: refused without an alias:\n%s", i, s)
			}
			continue
		}
		tried++
		got, err := decodeNodes(string(enc))
		if err != nil {
			t.Fatalf("sample %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, docs) {
			t.Errorf("sample %d: round trip differs:\n%s", i, s)
		}
	}
	if tried < 50 {
		t.Errorf("only %d samples round-tripped: the testdata glob found too little", tried)
	}
}

// A document with an alias is not written out: its nodes share a pointer.
func TestParsedNodesRefuseAliases(t *testing.T) {
	docs, err := splitDocuments([]byte("a: &x {b: c}\nd: *x\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := encodeNodes(docs); ok {
		t.Error("encoded a document with an alias")
	}
}

// Damaged input is refused, never a panic or a wrong tree: every
// truncation and every single-byte change of a real encoding.
func TestParsedNodesDamaged(t *testing.T) {
	docs, err := splitDocuments([]byte(nodeSamples[3]))
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := encodeNodes(docs)
	for n := range len(enc) {
		if _, err := decodeNodes(string(enc[:n])); err == nil {
			t.Errorf("truncated to %d of %d bytes: accepted", n, len(enc))
		}
	}
	for i := range enc {
		for _, v := range []byte{0, 0x7f, 0x80, 0xff} {
			b := []byte(string(enc))
			b[i] = v
			decodeNodes(string(b)) // must not panic; a change may still decode
		}
	}
}

func FuzzParsedNodes(f *testing.F) {
	for _, s := range nodeSamples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		docs, err := splitDocuments([]byte(s))
		if err != nil {
			return
		}
		enc, ok := encodeNodes(docs)
		if !ok {
			return
		}
		got, err := decodeNodes(string(enc))
		if err != nil {
			t.Fatalf("%v", err)
		}
		if !reflect.DeepEqual(got, docs) {
			t.Fatalf("round trip differs for %q", s)
		}
	})
}

func BenchmarkParsedNodes(b *testing.B) {
	var sb strings.Builder
	for i := range 2000 {
		fmt.Fprintf(&sb, "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: svc-%04d\n  labels: {app: ep}\nspec:\n  selector: {app: ep}\n  ports:\n  - {name: http, port: 80, targetPort: 8080}\n", i)
	}
	data := []byte(sb.String())
	docs, err := splitDocuments(data)
	if err != nil {
		b.Fatal(err)
	}
	enc, _ := encodeNodes(docs)
	b.Run("parse", func(b *testing.B) {
		for b.Loop() {
			splitDocuments(data)
		}
	})
	b.Run("decode", func(b *testing.B) {
		s := string(enc)
		for b.Loop() {
			if _, err := decodeNodes(s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(len(enc))/float64(len(data)), "enc/src")
	_ = yaml.Node{}
}
