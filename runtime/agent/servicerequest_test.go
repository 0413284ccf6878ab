package agent

import (
	"io"
	"strings"
	"testing"
)

// endless yields the same byte forever: stdin from a caller that never
// stops writing.
type endless byte

func (b endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

func TestReadServiceRequestBounded(t *testing.T) {
	big := `{"name":"` + strings.Repeat("x", maxServiceRequest) + `"}`
	for _, tc := range []struct {
		name    string
		env     string
		in      io.Reader
		want    string
		wantErr string
	}{
		{name: "stdin", in: strings.NewReader(`{"name":"dns"}`), want: "dns"},
		{name: "env wins over stdin", env: `{"name":"env"}`, in: strings.NewReader(`{"name":"stdin"}`), want: "env"},
		{name: "over the bound", in: strings.NewReader(big), wantErr: "read test request: unexpected EOF"},
		{name: "endless whitespace", in: endless(' '), wantErr: "read test request: EOF"},
		{name: "endless array", in: io.MultiReader(strings.NewReader(`{"name":`), endless('[')), wantErr: "read test request"},
		{name: "empty", in: strings.NewReader(""), wantErr: "read test request: EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("RECONCILE_TEST_REQUEST", tc.env)
			var req struct{ Name string }
			err := readServiceRequest("test", "RECONCILE_TEST_REQUEST", tc.in, &req)
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || req.Name != tc.want {
				t.Fatalf("got %q, %v; want %q", req.Name, err, tc.want)
			}
		})
	}
}
