package resources

import (
	"encoding/base64"
	"reflect"
	"strconv"

	"go.yaml.in/yaml/v3"
)

var (
	intOrStringType = reflect.TypeFor[IntOrString]()
	quantityType    = reflect.TypeFor[Quantity]()
	bytesType       = reflect.TypeFor[[]byte]()
)

// checkNode walks a YAML node against the Go type it will decode into and
// reports, with lines, every unknown or unsupported field, duplicate key
// and wrongly typed value. Decoding proper is left to sigs.k8s.io/yaml; this
// pass exists because JSON decoding stops at the first problem and knows
// no lines.
func checkNode(o obj, n *yaml.Node, t reflect.Type, path string, depth int) {
	n = deref(n)
	if n == nil || depth > 64 {
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case intOrStringType:
		if !isScalar(n, "!!int", "!!str") {
			o.errorf(path, "must be a number or a string, not %s", describe(n))
		}
		return
	case bytesType:
		// Secret data and ConfigMap binaryData: base64, as in Kubernetes.
		if !isScalar(n, "!!str", "!!binary") {
			o.errorf(path, "must be a base64 string, not %s", describe(n))
		} else if _, err := base64.StdEncoding.DecodeString(n.Value); err != nil {
			o.errorf(path, "invalid base64 (%v): give the value base64-encoded, or put it in stringData", err)
		}
		return
	case quantityType:
		if !isScalar(n, "!!int", "!!float", "!!str") {
			o.errorf(path, "must be a quantity like 500m or 128Mi, not %s", describe(n))
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			o.errorf(path, "must be an object, not %s", describe(n))
			return
		}
		fields := jsonFields(t)
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				o.errorf(path, "field names must be strings, not %s", describe(k))
				continue
			}
			fp := fieldPath(path, k.Value)
			if seen[k.Value] {
				o.errorf(fp, "duplicate field")
				continue
			}
			seen[k.Value] = true
			ft, ok := fields[k.Value]
			switch {
			case ok:
				checkNode(o, v, ft, fp, depth+1)
			case k.Value == "<<":
				o.errorf(fp, "YAML merge keys are not supported by reconcile")
			case isNotSupported(t, k.Value):
				o.errorf(fp, "not supported by reconcile")
			default:
				if s := suggestField(t, k.Value); s != "" {
					o.errorf(fp, "unknown field (did you mean %q?)", s)
				} else {
					o.errorf(fp, "unknown field")
				}
			}
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			o.errorf(path, "must be a list, not %s", describe(n))
			return
		}
		for i, c := range n.Content {
			checkNode(o, c, t.Elem(), indexPath(path, i), depth+1)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			o.errorf(path, "must be an object, not %s", describe(n))
			return
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" {
				o.errorf(path, "keys must be strings, not %s", describe(k))
				continue
			}
			kp := keyPath(path, k.Value)
			if seen[k.Value] {
				o.errorf(kp, "duplicate key")
				continue
			}
			seen[k.Value] = true
			checkNode(o, v, t.Elem(), kp, depth+1)
		}
	case reflect.String:
		if !isScalar(n, "!!str") {
			if n.Kind == yaml.ScalarNode {
				o.errorf(path, "must be a string, not %s (quote it: %s)", describe(n), quote(n.Value))
			} else {
				o.errorf(path, "must be a string, not %s", describe(n))
			}
		}
	case reflect.Int32, reflect.Int64:
		if !isScalar(n, "!!int") {
			o.errorf(path, "must be an integer, not %s", describe(n))
			return
		}
		bits := 32
		if t.Kind() == reflect.Int64 {
			bits = 64
		}
		if _, err := strconv.ParseInt(n.Value, 0, bits); err != nil {
			o.errorf(path, "integer %s is out of range", n.Value)
		}
	case reflect.Bool:
		if !isScalar(n, "!!bool") {
			o.errorf(path, "must be true or false, not %s", describe(n))
		}
	}
}

func isScalar(n *yaml.Node, tags ...string) bool {
	if n.Kind != yaml.ScalarNode {
		return false
	}
	tag := n.ShortTag()
	for _, t := range tags {
		if tag == t {
			return true
		}
	}
	return false
}

// describe names a node's YAML type for messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "an object"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.ShortTag() {
	case "!!int", "!!float":
		if len(n.Value) > MaxQuoted { // a plain number has only ASCII digits, signs, dots, letters
			return "the number " + n.Value[:MaxQuoted] + "..."
		}
		return "the number " + n.Value
	case "!!bool":
		return "the boolean " + n.Value
	case "!!str":
		return quote(n.Value)
	}
	return quote(n.ShortTag()) + " " + quote(n.Value)
}
