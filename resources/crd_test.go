package resources

import (
	"os"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestClusterCRDCoversExample checks every field of the example Cluster
// against the CRD's schema as a structural schema would (an unknown field
// is pruned by the API server, so it must be declared), and the CRD's
// identity matches the kind reconcile reads.
func TestClusterCRDCoversExample(t *testing.T) {
	var crd struct {
		Spec struct {
			Group    string
			Names    struct{ Kind, Plural string }
			Versions []struct {
				Name   string
				Schema struct {
					OpenAPIV3Schema map[string]any `json:"openAPIV3Schema"`
				}
			}
		}
	}
	if err := yaml.Unmarshal(ClusterCRD(), &crd); err != nil {
		t.Fatal(err)
	}
	if got := crd.Spec.Group + "/" + crd.Spec.Versions[0].Name; got != ClusterAPIVersion || crd.Spec.Names.Kind != ClusterKind {
		t.Fatalf("CRD is %s %s, want %s %s", got, crd.Spec.Names.Kind, ClusterAPIVersion, ClusterKind)
	}
	for _, f := range []string{"../examples/nginx/cluster.yaml", "testdata/crd/full-cluster.yaml"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := yaml.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		for _, p := range undeclared(crd.Spec.Versions[0].Schema.OpenAPIV3Schema, doc, "") {
			t.Errorf("%s: %s is not in the CRD's schema", f, p)
		}
	}
}

// undeclared lists the paths of doc that schema does not declare or types
// differently.
func undeclared(schema map[string]any, doc any, path string) []string {
	var out []string
	switch v := doc.(type) {
	case map[string]any:
		props, _ := schema["properties"].(map[string]any)
		extra, _ := schema["additionalProperties"].(map[string]any)
		if schema["type"] != "object" {
			return []string{path + " (an object)"}
		}
		for k, x := range v {
			s, ok := props[k].(map[string]any)
			if !ok && extra != nil {
				s, ok = extra, true
			}
			if !ok {
				if path != ".metadata" { // metadata is the API server's
					out = append(out, path+"."+k)
				}
				continue
			}
			out = append(out, undeclared(s, x, path+"."+k)...)
		}
	case []any:
		items, _ := schema["items"].(map[string]any)
		if schema["type"] != "array" || items == nil {
			return []string{path + " (a list)"}
		}
		for _, x := range v {
			out = append(out, undeclared(items, x, path+"[]")...)
		}
	case string:
		if schema["type"] != "string" {
			out = append(out, path+" (a string)")
		}
	case float64:
		if schema["type"] != "integer" {
			out = append(out, path+" (a number)")
		}
	case bool:
		if schema["type"] != "boolean" {
			out = append(out, path+" (a boolean)")
		}
	}
	return out
}
