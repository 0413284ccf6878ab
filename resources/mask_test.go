package resources

import (
	"strings"
	"testing"
)

// Render shows a Secret's keys, never its values, whether they came
// from data or stringData.
func TestRenderMasksSecrets(t *testing.T) {
	s := loadString(t, `apiVersion: v1
kind: Secret
metadata: {name: db}
data: {user: YWRtaW4tcGxhaW50ZXh0}
stringData: {password: hunter2-plaintext}
`)
	out, err := Render(s)
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	for _, plain := range []string{"hunter2-plaintext", "admin-plaintext", "YWRtaW4tcGxhaW50ZXh0"} {
		if strings.Contains(got, plain) {
			t.Errorf("render shows %q:\n%s", plain, got)
		}
	}
	if !strings.Contains(got, "password: <redacted>") || !strings.Contains(got, "user: <redacted>") {
		t.Errorf("render does not list the keys masked:\n%s", got)
	}
	if got := SecretChange(map[string][]byte{"a": []byte("1"), "b": []byte("2")}, map[string][]byte{"a": []byte("1"), "b": []byte("3"), "c": nil}); got != "3 keys, 2 changed (b, c)" {
		t.Errorf("SecretChange = %q", got)
	}
}

// A masked change counts the keys and names the changed ones, a few at
// most; never a value.
func TestKeysChanged(t *testing.T) {
	tests := []struct {
		keys    int
		changed []string
		want    string
	}{
		{1, nil, "1 key, 0 changed"},
		{3, []string{"nginx.conf"}, "3 keys, 1 changed (nginx.conf)"},
		{2, []string{"a", "gone"}, "2 keys, 2 changed (a, gone)"},
		{9, []string{"a", "b", "c", "d", "e", "f", "g"}, "9 keys, 7 changed (a, b, c, d, e and 2 more)"},
	}
	for _, tt := range tests {
		if got := KeysChanged(tt.keys, tt.changed); got != tt.want {
			t.Errorf("KeysChanged(%d, %q) = %q, want %q", tt.keys, tt.changed, got, tt.want)
		}
	}
}
