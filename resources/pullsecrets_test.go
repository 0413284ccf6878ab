package resources

import (
	"encoding/json"
	"strings"
	"testing"
)

const pullTree = `apiVersion: v1
kind: Secret
metadata: {name: reg-a}
type: kubernetes.io/dockerconfigjson
stringData:
  .dockerconfigjson: '{"auths": {"a.example": {"auth": "PASS_A"}}}'
---
apiVersion: v1
kind: Secret
metadata: {name: reg-b}
type: kubernetes.io/dockerconfigjson
data:
  .dockerconfigjson: eyJhdXRocyI6IHt9fQ==
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      imagePullSecrets: [{name: reg-b}, {name: reg-a}]
      containers:
      - {name: web, image: a.example/web:1}
`

// PullSecrets hands over the values in the template's order, and a
// change of a pull secret's data changes no hash: Kubernetes restarts
// nothing for it, the next pull uses it.
func TestPullSecrets(t *testing.T) {
	s := loadString(t, pullTree)
	d := s.Deployments[0]
	got := s.PullSecrets(d)
	want := []string{`{"auths": {}}`, `{"auths": {"a.example": {"auth": "PASS_A"}}}`}
	if len(got) != len(want) {
		t.Fatalf("PullSecrets = %q, want %q", got, want)
	}
	for i := range want {
		if string(got[i]) != want[i] {
			t.Errorf("PullSecrets[%d] = %q, want %q", i, got[i], want[i])
		}
	}

	changed := loadString(t, strings.Replace(pullTree, "PASS_A", "PASS_B", 1)).Deployments[0]
	if changed.TemplateHash() != d.TemplateHash() || changed.SpecHash() != d.SpecHash() || changed.ConfigHashes() != d.ConfigHashes() {
		t.Errorf("a pull secret's data changed the hashes: %s/%s/%q -> %s/%s/%q",
			d.TemplateHash(), d.SpecHash(), d.ConfigHashes(), changed.TemplateHash(), changed.SpecHash(), changed.ConfigHashes())
	}
	// The names are part of the pod template, as in Kubernetes.
	reordered := loadString(t, strings.Replace(pullTree, "[{name: reg-b}, {name: reg-a}]", "[{name: reg-a}]", 1)).Deployments[0]
	if reordered.TemplateHash() == d.TemplateHash() {
		t.Errorf("changing imagePullSecrets kept the template hash %s", d.TemplateHash())
	}
	// No pull secrets: the template hashes as before the field existed.
	none := loadString(t, strings.Replace(pullTree, "      imagePullSecrets: [{name: reg-b}, {name: reg-a}]\n", "", 1))
	if len(none.PullSecrets(none.Deployments[0])) != 0 {
		t.Errorf("PullSecrets without imagePullSecrets = %q", none.PullSecrets(none.Deployments[0]))
	}
	if b, _ := json.Marshal(none.Deployments[0].Spec.Template); strings.Contains(string(b), "imagePullSecrets") {
		t.Errorf("the hashed template holds imagePullSecrets: %s", b)
	}
}
