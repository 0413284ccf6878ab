package resources

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const consumeTree = `apiVersion: v1
kind: ConfigMap
metadata: {name: app}
data: {color: COLOR, size: SIZE, file.conf: FILE}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      volumes:
      - {name: conf, configMap: {name: app}}
      containers:
      - name: web
        image: nginx
        env:
        - name: COLOR
          valueFrom: {configMapKeyRef: {name: app, key: color}}
        volumeMounts:
        - {name: conf, mountPath: /etc/app}
`

func loadString(t *testing.T, manifest string) *Set {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "all.yaml"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Only the data the pods fix at start (env, envFrom, subPath) is part
// of the template hash: a change of a key used only as a mounted file
// updates the file in place, and changes nothing else.
func TestConsumedDataHash(t *testing.T) {
	base := loadString(t, consumeTree).Deployments[0]
	tests := []struct {
		name        string
		from, to    string
		rolls       bool
		consumedIDs string
	}{
		{"env key changed", "color: COLOR", "color: RED", true, "ConfigMap/app"},
		{"unconsumed key changed", "size: SIZE", "size: BIG", false, "ConfigMap/app"},
		{"mounted-only key changed", "file.conf: FILE", "file.conf: OTHER", false, "ConfigMap/app"},
		{"subPath mount takes the whole object", "mountPath: /etc/app}", "mountPath: /etc/app/file.conf, subPath: file.conf}\n---\n# size: BIG", true, "ConfigMap/app"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := loadString(t, strings.Replace(consumeTree, tt.from, tt.to, 1)).Deployments[0]
			if got := d.TemplateHash() != base.TemplateHash(); got != tt.rolls {
				t.Errorf("template hash changed = %v, want %v", got, tt.rolls)
			}
			if got := d.ConsumedData(); len(got) != 1 || got[0].ID() != tt.consumedIDs {
				t.Errorf("consumed %+v", got)
			}
		})
	}
	if base.SpecHash() == base.TemplateHash() {
		t.Errorf("spec hash %s equals the template hash: the consumed data is not in it", base.SpecHash())
	}
}
