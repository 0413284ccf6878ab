package resources

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reconcile-dev/reconcile/resources/sops"
)

// A SOPS-encrypted manifest (testdata/sops, encrypted by the sops CLI
// with the test key beside it) decodes to its plaintext with the key, to
// its structure with empty values without one (validate), and is an
// error naming the file, line and flag otherwise.
func TestLoadSOPS(t *testing.T) {
	keys, err := sops.LoadKeys("testdata/sops/age-key.txt", "", "")
	if err != nil {
		t.Fatal(err)
	}
	file := "testdata/sops/deployment.sops.yaml"
	env := func(s *Set) string {
		if len(s.Deployments) != 1 {
			t.Fatalf("%d Deployments", len(s.Deployments))
		}
		d := s.Deployments[0]
		if !d.Source.Encrypted {
			t.Errorf("Source.Encrypted not set")
		}
		return d.Spec.Template.Spec.Containers[0].Env[0].Value
	}
	s, err := LoadTree(file, TreeOptions{Decryption: Decryption{Keys: keys}})
	if err != nil {
		t.Fatal(err)
	}
	if got := env(s); got != "correct-horse-battery-staple" {
		t.Errorf("decrypted value %q", got)
	}
	s, err = LoadTree(file, TreeOptions{Decryption: Decryption{WithoutKey: true}})
	if err != nil {
		t.Fatal(err)
	}
	if got := env(s); got != "" {
		t.Errorf("value without the key %q, want it left empty", got)
	}
	_, err = LoadTree(file, TreeOptions{})
	if err == nil || !strings.Contains(err.Error(), "deployment.sops.yaml:21: sops: the file is SOPS-encrypted and no age key was given: set --sops-age-key-file") {
		t.Errorf("without a key: %v", err)
	}

	// Inside a kustomization the file is decrypted before kustomize
	// renders it, so namePrefix applies to the plaintext.
	repo := t.TempDir()
	os.Mkdir(filepath.Join(repo, ".git"), 0o700)
	dir := filepath.Join(repo, "app")
	os.Mkdir(dir, 0o700)
	data, _ := os.ReadFile(file)
	os.WriteFile(filepath.Join(dir, "api.yaml"), data, 0o600)
	os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte("resources: [api.yaml]\nnamePrefix: prod-\n"), 0o600)
	s, err = LoadTree(dir, TreeOptions{Decryption: Decryption{Keys: keys}})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Deployments) != 1 || s.Deployments[0].Name != "prod-api" || s.Deployments[0].Spec.Template.Spec.Containers[0].Env[0].Value != "correct-horse-battery-staple" {
		t.Errorf("kustomized: %+v", s.Deployments)
	}
	if _, err := LoadTree(dir, TreeOptions{}); err == nil || !strings.Contains(err.Error(), "api.yaml:21: sops: ") {
		t.Errorf("kustomized without a key: %v", err)
	}
}

// An encrypted pull secret validates without the key: its value is a
// placeholder then, so only its structure is checked; with the key the
// value itself is checked and kept.
func TestLoadSOPSPullSecretWithoutKey(t *testing.T) {
	const file = "testdata/sops/pull-secret.sops.yaml"
	if _, err := LoadTree(file, TreeOptions{Decryption: Decryption{WithoutKey: true}}); err != nil {
		t.Errorf("without the key: %v", err)
	}
	keys, err := sops.LoadKeys("testdata/sops/age-key.txt", "", "")
	if err != nil {
		t.Fatal(err)
	}
	s, err := LoadTree(file, TreeOptions{Decryption: Decryption{Keys: keys}})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Secrets) != 1 || !strings.Contains(string(s.Secrets[0].Data[".dockerconfigjson"]), `"registry.example.com"`) {
		t.Errorf("with the key: %+v", s.Secrets)
	}
}
