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

func TestDocumentTexts(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // nil: decode from the tree
	}{
		{"one document", "a: 1\nb: 2\n", []string{"a: 1\nb: 2\n"}},
		{"leading separator", "---\na: 1\n", []string{"a: 1\n"}},
		{"two documents", "a: 1\n---\nb: 2\n", []string{"a: 1\n", "b: 2\n"}},
		{"separator with blanks", "a: 1\n--- \t\r\nb: 2", []string{"a: 1\n", "b: 2"}},
		{"empty documents skipped", "---\n---\na: 1\n---\n# only a comment\n---\nb: 2\n", []string{"a: 1\n", "b: 2\n"}},
		{"null document skipped", "a: 1\n---\n~\n---\nb: 2\n", []string{"a: 1\n", "b: 2\n"}},
		{"comments before content", "# head\n\na: 1\n", []string{"# head\n\na: 1\n"}},
		{"block scalar", "a: |\n  x\n  y\n---\nb: 2\n", []string{"a: |\n  x\n  y\n", "b: 2\n"}},
		{"content on the separator line", "--- {a: 1}\n", nil},
		{"document end marker", "a: 1\n...\n---\nb: 2\n", nil},
		{"directive", "%YAML 1.1\n---\na: 1\n", nil},
		{"separator-like key", "---x: 1\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, err := splitDocuments([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			got := documentTexts([]byte(tt.in), docs)
			if tt.want == nil {
				if got != nil {
					t.Fatalf("got %q, want nil (decode from the tree)", got)
				}
				return
			}
			var gs []string
			for _, g := range got {
				gs = append(gs, string(g))
			}
			if !reflect.DeepEqual(gs, tt.want) {
				t.Fatalf("got %q, want %q", gs, tt.want)
			}
		})
	}
}

// Every tree the tests and examples hold loads to the same objects and the
// same findings whether documents are decoded from their text or from the
// parsed tree written out again (the way before doctext.go).
func TestDecodeFromTextAgrees(t *testing.T) {
	var trees []string
	for _, root := range []string{"testdata", filepath.Join("..", "examples")} {
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				trees = append(trees, p)
			}
			return nil
		})
	}
	load := func(dir string, fromText bool) string {
		decodeFromText = fromText
		defer func() { decodeFromText = true }()
		s, err := LoadTree(dir, TreeOptions{})
		var b strings.Builder
		fmt.Fprintf(&b, "err: %v\n", err)
		if s != nil {
			for _, o := range []any{s.Cluster, s.Deployments, s.DaemonSets, s.Services, s.Warnings} {
				y, _ := yaml.Marshal(o)
				b.Write(y)
			}
		}
		return b.String()
	}
	for _, dir := range trees {
		if a, b := load(dir, true), load(dir, false); a != b {
			t.Errorf("%s: decoding from the text differs from decoding the tree:\n--- text\n%s\n--- tree\n%s", dir, a, b)
		}
	}
	if len(trees) < 10 {
		t.Fatalf("only %d trees found", len(trees))
	}
}
