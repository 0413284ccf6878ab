package resources

import (
	"bytes"
	"encoding/json"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// Render prints the normalized desired state as a multi-document YAML
// stream: the Cluster first, then Deployments, then Services, each with
// its defaults filled in and its fields in declaration order.
func Render(s *Set) ([]byte, error) {
	var objs []any
	if s.Cluster != nil {
		objs = append(objs, s.Cluster)
	}
	for _, d := range s.Deployments {
		if d.DaemonSet == nil {
			objs = append(objs, d)
		}
	}
	for _, ds := range s.DaemonSets {
		objs = append(objs, ds)
	}
	for _, svc := range s.Services {
		objs = append(objs, svc)
	}
	for _, n := range s.Namespaces {
		objs = append(objs, n)
	}
	for _, c := range s.ConfigMaps {
		objs = append(objs, c)
	}
	for _, sec := range s.Secrets {
		objs = append(objs, sec.Masked()) // values never printed (mask.go)
	}
	var out bytes.Buffer
	for i, o := range objs {
		if i > 0 {
			out.WriteString("---\n")
		}
		b, err := marshalYAML(o)
		if err != nil {
			return nil, err
		}
		out.Write(b)
	}
	return out.Bytes(), nil
}

// RenderService prints a Service exactly as given, without defaults, the
// way kubectl expose --dry-run -o yaml would print what it creates.
func RenderService(s *Service) ([]byte, error) { return marshalYAML(s) }

// marshalYAML prints v's JSON form as block YAML, keeping the order of
// the Go struct fields (apiVersion, kind, metadata, spec; name before
// labels) rather than sorting keys as sigs.k8s.io/yaml would.
func marshalYAML(v any) ([]byte, error) {
	j, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(j, &doc); err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	blockStyle(&doc)
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	enc.CompactSeqIndent()
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	return out.Bytes(), nil
}

// blockStyle drops the flow style and quotes that parsing JSON left on
// every node; the encoder still quotes strings that need it ("80", "yes").
func blockStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		blockStyle(c)
	}
}
