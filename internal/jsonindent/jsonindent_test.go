package jsonindent

import (
	"bytes"
	"encoding/json"
	"testing"
)

func check(t *testing.T, v any) {
	t.Helper()
	want, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Marshal(v, "  ")
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("Marshal(%#v) =\n%s\nwant\n%s", v, got, want)
	}
}

// Byte for byte what MarshalIndent writes, for the shapes the files have
// and the corners of the syntax: empty objects and arrays, strings with
// escapes, quotes and brackets inside, nesting, numbers, null.
func TestMatchesMarshalIndent(t *testing.T) {
	type ep struct {
		IP    string `json:"ip"`
		Ready bool   `json:"ready"`
		Port  int    `json:"port,omitempty"`
	}
	type svc struct {
		Namespace, Name string
		Labels          map[string]string
		Endpoints       []ep
		Ports           []int
		Empty           struct{}
		Nil             *ep
		Raw             json.RawMessage
	}
	for _, v := range []any{
		nil, 1, "x", []int{}, map[string]int{}, []any{[]any{}, map[string]any{}},
		`quote " backslash \ brackets {[]}, colon: "`, "\u2028 \x00 é <&>",
		svc{Namespace: "default", Name: "svc-0001", Labels: map[string]string{"app": "web", "a\"b": "{x}"},
			Endpoints: []ep{{IP: "198.18.1.2", Ready: true, Port: 80}, {IP: "198.18.2.2"}}, Ports: []int{80, 443}, Raw: json.RawMessage(`{"a":[1,{}]}`)},
		[]svc{{}, {Name: "b"}},
	} {
		check(t, v)
	}
}

func FuzzIndent(f *testing.F) {
	f.Add([]byte(`{"a":[1,2,{"b":"c\\"d"}],"e":{},"f":[]}`))
	f.Add([]byte(`["x\u0022,", {"k":null}]`))
	f.Fuzz(func(t *testing.T, in []byte) {
		var compact bytes.Buffer
		if json.Compact(&compact, in) != nil {
			return
		}
		var want bytes.Buffer
		if err := json.Indent(&want, compact.Bytes(), "", "  "); err != nil {
			t.Fatal(err)
		}
		if got := Indent(nil, compact.Bytes(), "  "); !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("Indent(%q) =\n%s\nwant\n%s", compact.Bytes(), got, want.Bytes())
		}
	})
}

func BenchmarkIndent(b *testing.B) {
	type ep struct {
		IP   string `json:"ip"`
		Port int    `json:"port"`
	}
	v := make([]map[string]any, 2000)
	for i := range v {
		v[i] = map[string]any{"name": "svc", "namespace": "default", "endpoints": []ep{{"198.18.1.2", 80}, {"198.18.2.2", 80}, {"198.18.3.2", 80}}}
	}
	b.Run("MarshalIndent", func(b *testing.B) {
		for b.Loop() {
			json.MarshalIndent(v, "", "  ")
		}
	})
	b.Run("jsonindent", func(b *testing.B) {
		for b.Loop() {
			Marshal(v, "  ")
		}
	})
}
