package sops

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"filippo.io/age"
	"go.yaml.in/yaml/v3"
)

// sopsReference is the sops CLI release the reference test encrypts with.
const sopsReference = "v3.13.3"

// buildSops builds the real sops CLI from the module proxy, as the
// resources tests build kustomize.
func buildSops(t *testing.T) string {
	t.Helper()
	bin := t.TempDir()
	install := exec.Command("go", "install", "github.com/getsops/sops/v3/cmd/sops@"+sopsReference)
	install.Env = append(os.Environ(), "GOBIN="+bin, "GOFLAGS=", "CGO_ENABLED=0")
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("go install sops %s: %v\n%s", sopsReference, err, out)
	}
	return filepath.Join(bin, "sops")
}

func newKey(t *testing.T) (*age.X25519Identity, string) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "key.txt")
	if err := os.WriteFile(f, []byte("# created: test\n# public key: "+id.Recipient().String()+"\n"+id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return id, f
}

func encrypt(t *testing.T, sops, recipient, plain string, args ...string) []byte {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "in.yaml")
	if err := os.WriteFile(in, []byte(plain), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sops, append(append([]string{"--encrypt", "--age", recipient}, args...), in)...)
	cmd.Dir = dir
	cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH")}
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("sops --encrypt: %v\n%s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	return out
}

func parse(t *testing.T, data []byte) []*yaml.Node {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	var docs []*yaml.Node
	for {
		var d yaml.Node
		if err := dec.Decode(&d); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("%v\n%s", err, data)
		}
		docs = append(docs, &d)
	}
	return docs
}

func values(t *testing.T, docs []*yaml.Node) []any {
	t.Helper()
	var out []any
	for _, d := range docs {
		var v any
		if err := d.Decode(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

const secret = `apiVersion: v1
kind: Secret
metadata:
  name: web-tls # the certificate
  namespace: default
  labels:
    app: web
type: kubernetes.io/tls
data:
  tls.crt: Y2VydA==
  tls.key: a2V5
stringData:
  password: "s3cr3t: with colon"
  empty: ""
  multi: |
    line one
    line two
`

const typedDoc = `count: 3
ratio: 0.25
enabled: true
off: false
list:
  - a
  - 7
  - nested:
      deep: x
  - null
stamp: 2024-01-02T03:04:05Z
plain_unencrypted: visible
`

// Files encrypted by the real sops CLI decrypt to their plaintext with
// this package, under each of sops' selection rules, and a change after
// encryption is caught by the value's tag or by the MAC.
func TestDecryptMatchesSopsCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds sops")
	}
	sops := buildSops(t)
	id, keyFile := newKey(t)
	keys, err := LoadKeys(keyFile, "", "")
	if err != nil {
		t.Fatal(err)
	}
	rcpt := id.Recipient().String()
	cases := []struct {
		name  string
		plain string
		args  []string
	}{
		{"everything encrypted", secret, nil},
		{"encrypted_regex data", secret, []string{"--encrypted-regex", "^(data|stringData)$"}},
		{"unencrypted_regex", secret, []string{"--unencrypted-regex", "^(apiVersion|kind|metadata|type)$"}},
		{"encrypted_suffix", "a_secret: x\nb: y\n", []string{"--encrypted-suffix", "_secret"}},
		{"mac_only_encrypted", secret, []string{"--encrypted-regex", "^data$", "--mac-only-encrypted"}},
		{"types and default unencrypted suffix", typedDoc, nil},
		{"multiple documents", secret + "---\n" + typedDoc, nil},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			enc := encrypt(t, sops, rcpt, tt.plain, tt.args...)
			docs := parse(t, enc)
			if Line(docs) == 0 {
				t.Fatalf("not recognised as SOPS:\n%s", enc)
			}
			if _, errs := Decrypt(docs, keys); errs != nil {
				t.Fatalf("Decrypt: %v\n%s", errs, enc)
			}
			if got, want := values(t, docs), values(t, parse(t, []byte(tt.plain))); !reflect.DeepEqual(got, want) {
				t.Errorf("decrypted\n%#v\nwant\n%#v", got, want)
			}
			// Without a key the structure checks and the values are blanked.
			docs = parse(t, enc)
			red, errs := Redact(docs)
			if errs != nil {
				t.Fatalf("Redact: %v", errs)
			}
			if len(red) == 0 {
				t.Errorf("Redact replaced nothing")
			}
			if out, _ := yaml.Marshal(docs[0]); strings.Contains(string(out), "ENC[") || strings.Contains(string(out), "sops:") {
				t.Errorf("redacted document still holds sops data:\n%s", out)
			}
		})
	}

	enc := string(encrypt(t, sops, rcpt, secret, "--encrypted-regex", "^(data|stringData)$"))
	tamper := []struct {
		name, old, new string
		want           error
	}{
		// An unencrypted value is covered by the MAC only.
		{"unencrypted value changed", "name: web-tls", "name: web-tl5", ErrTampered},
		{"key renamed", "tls.key:", "tls.kez:", ErrTampered},
	}
	for _, tt := range tamper {
		t.Run("tamper/"+tt.name, func(t *testing.T) {
			if !strings.Contains(enc, tt.old) {
				t.Fatalf("%q not in\n%s", tt.old, enc)
			}
			docs := parse(t, []byte(strings.Replace(enc, tt.old, tt.new, 1)))
			before, _ := yaml.Marshal(docs[0])
			_, errs := Decrypt(docs, keys)
			if len(errs) == 0 || !errors.Is(errs[0], tt.want) {
				t.Fatalf("Decrypt: %v, want %v", errs, tt.want)
			}
			if after, _ := yaml.Marshal(docs[0]); string(after) != string(before) {
				t.Errorf("a failed Decrypt changed the document")
			}
		})
	}
	t.Run("tamper/value removed", func(t *testing.T) {
		// (An empty string adds nothing to sops' MAC, so remove a value.)
		i := strings.LastIndex(enc[:strings.Index(enc, "tls.key: ")], "\n") + 1
		j := i + strings.Index(enc[i:], "\n") + 1
		_, errs := Decrypt(parse(t, []byte(enc[:i]+enc[j:])), keys)
		if len(errs) == 0 || !errors.Is(errs[0], ErrTampered) {
			t.Fatalf("Decrypt: %v, want tampered", errs)
		}
	})
	t.Run("tamper/ciphertext changed", func(t *testing.T) {
		i := strings.Index(enc, "ENC[AES256_GCM,data:") + len("ENC[AES256_GCM,data:")
		b := []byte(enc)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		_, errs := Decrypt(parse(t, b), keys)
		if len(errs) == 0 || !errors.Is(errs[0], ErrTampered) || errs[0].Line == 0 {
			t.Fatalf("Decrypt: %v, want a tampered value with its line", errs)
		}
	})
	t.Run("no key", func(t *testing.T) {
		_, errs := Decrypt(parse(t, []byte(enc)), nil)
		if len(errs) != 1 || !errors.Is(errs[0], ErrNoKey) || !strings.Contains(errs[0].Error(), "--sops-age-key-file") {
			t.Fatalf("Decrypt: %v", errs)
		}
	})
	t.Run("wrong key", func(t *testing.T) {
		_, other := newKey(t)
		k, err := LoadKeys("", other, "")
		if err != nil {
			t.Fatal(err)
		}
		_, errs := Decrypt(parse(t, []byte(enc)), k)
		if len(errs) != 1 || !errors.Is(errs[0], ErrWrongKey) || !strings.Contains(errs[0].Error(), rcpt) {
			t.Fatalf("Decrypt: %v", errs)
		}
	})
}
