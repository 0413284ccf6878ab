package resources

import (
	"strings"
	"testing"
)

const immutableTree = `apiVersion: v1
kind: ConfigMap
metadata: {name: app}
immutable: true
data: {color: blue}
---
apiVersion: v1
kind: Secret
metadata: {name: db}
immutable: true
stringData: {password: one}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: plain}
data: {a: b}
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
      - {name: plain, configMap: {name: plain}}
      containers:
      - name: web
        image: nginx
        env:
        - name: PASSWORD
          valueFrom: {secretKeyRef: {name: db, key: password}}
        volumeMounts:
        - {name: conf, mountPath: /etc/app}
`

// A pod records the immutable objects it uses; a later tree that changes
// one's data or unsets immutable is refused at the object's file and
// line, as the API server refuses the update; other changes pass.
func TestCheckImmutable(t *testing.T) {
	base := loadString(t, immutableTree)
	rec := base.ImmutableRecord(base.Deployments[0])
	if !strings.HasPrefix(rec, "ConfigMap/app=") || !strings.Contains(rec, ",Secret/db=") || strings.Contains(rec, "plain") {
		t.Fatalf("record %q: want the immutable ConfigMap and Secret only", rec)
	}
	if strings.Contains(rec, "one") {
		t.Fatalf("record %q holds the Secret's value", rec)
	}
	recorded := map[string]map[string][]string{"default": {}}
	for id, h := range ParseImmutableRecord(rec) {
		recorded["default"][id] = []string{h}
	}
	tests := []struct {
		name     string
		from, to string
		want     string // "" for no error
	}{
		{"unchanged", "", "", ""},
		{"a mutable object's data", "data: {a: b}", "data: {a: c}", ""},
		{"data changed", "data: {color: blue}", "data: {color: red}", "all.yaml:5: ConfigMap/app: data: the hosts hold other data: field is immutable; delete and recreate, or change its name"},
		{"key added", "data: {color: blue}", "data: {color: blue, size: big}", "ConfigMap/app: data: the hosts hold other data"},
		{"secret changed", "stringData: {password: one}", "stringData: {password: two}", "all.yaml:11: Secret/db: stringData: the hosts hold other data"},
		{"immutable unset", "metadata: {name: app}\nimmutable: true", "metadata: {name: app}\nimmutable: false", "all.yaml:4: ConfigMap/app: immutable: the hosts hold it immutable"},
		{"deleted", "metadata: {name: app}", "metadata: {name: other}", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tree := strings.Replace(immutableTree, tt.from, tt.to, 1)
			if tt.name == "deleted" {
				tree = strings.Replace(tree, "configMap: {name: app}", "configMap: {name: other}", 1)
			}
			err := loadString(t, tree).CheckImmutable(recorded)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("CheckImmutable: %v, want %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "two") {
				t.Errorf("the error shows the Secret's value: %v", err)
			}
		})
	}
	// Two pods with different records (one still on the old data): the
	// one that differs is refused.
	recorded["default"]["ConfigMap/app"] = append(recorded["default"]["ConfigMap/app"], "000000000000")
	if err := base.CheckImmutable(recorded); err == nil {
		t.Error("a pod holding other data than the manifest was not refused")
	}
}
