package resources

import (
	"reflect"
	"strings"

	"sigs.k8s.io/yaml"
)

// ClusterCRD is a CustomResourceDefinition for the Cluster kind, so the
// same repository applies to a real Kubernetes cluster with kubectl apply
// (the API server refuses a kind it does not know). Its schema is derived
// from ClusterSpec itself, so it cannot drift from what reconcile reads.
func ClusterCRD() []byte {
	group, version, _ := strings.Cut(ClusterAPIVersion, "/")
	spec := schemaOf(reflect.TypeFor[ClusterSpec]())
	crd := map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1",
		"kind":       "CustomResourceDefinition",
		"metadata":   map[string]any{"name": "clusters." + group},
		"spec": map[string]any{
			"group": group,
			"scope": "Cluster",
			"names": map[string]any{
				"kind": ClusterKind, "listKind": ClusterKind + "List",
				"plural": "clusters", "singular": "cluster",
			},
			"versions": []any{map[string]any{
				"name": version, "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{
					"type":        "object",
					"description": "The Docker hosts reconcile manages; read by reconcile, ignored by Kubernetes.",
					"properties": map[string]any{
						"apiVersion": map[string]any{"type": "string"},
						"kind":       map[string]any{"type": "string"},
						"metadata":   map[string]any{"type": "object"},
						"spec":       spec,
					},
				}},
			}},
		},
	}
	b, err := yaml.Marshal(crd)
	if err != nil {
		panic(err) // maps of strings and bools always marshal
	}
	return b
}

// schemaOf is the structural OpenAPI schema of a type reconcile decodes
// with encoding/json: structs by their json tags, slices, string maps and
// scalars. Other kinds do not occur in ClusterSpec; a test walks it.
func schemaOf(t reflect.Type) map[string]any {
	switch t.Kind() {
	case reflect.Pointer:
		return schemaOf(t.Elem())
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int32, reflect.Int64, reflect.Uint16, reflect.Uint32:
		return map[string]any{"type": "integer"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem())}
	case reflect.Struct:
		props := map[string]any{}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" || name == "" {
				continue
			}
			props[name] = schemaOf(f.Type)
		}
		return map[string]any{"type": "object", "properties": props}
	}
	panic("resources: no CRD schema for " + t.String())
}
