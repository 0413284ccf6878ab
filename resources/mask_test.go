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
	if got := SecretChange(map[string][]byte{"a": []byte("1"), "b": []byte("2")}, map[string][]byte{"a": []byte("1"), "b": []byte("3"), "c": nil}); got != "3 keys, 2 changed" {
		t.Errorf("SecretChange = %q", got)
	}
}
