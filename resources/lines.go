package resources

import (
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// lineOf maps a field path such as "spec.template.spec.containers[0].image"
// or "metadata.labels[app]" to the line where the YAML declares it. A path
// that is only partly present (a missing required field) resolves to its
// deepest existing ancestor; with no document it is the start line.
func (s Source) lineOf(path string) int {
	if s.doc == nil || s.rendered {
		return s.Line
	}
	n := s.doc
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return s.Line
		}
		n = n.Content[0]
	}
	best := n.Line
	for _, seg := range splitPath(path) {
		n = deref(n)
		if n == nil {
			break
		}
		switch n.Kind {
		case yaml.MappingNode:
			key, val := lookupKey(n, seg)
			if key == nil {
				return best
			}
			best = key.Line
			n = val
		case yaml.SequenceNode:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(n.Content) {
				return best
			}
			n = n.Content[i]
			best = n.Line
		default:
			return best
		}
	}
	if best == 0 {
		return s.Line
	}
	return best
}

func deref(n *yaml.Node) *yaml.Node {
	for depth := 0; n != nil && n.Kind == yaml.AliasNode && depth < 100; depth++ {
		n = n.Alias
	}
	return n
}

func lookupKey(m *yaml.Node, key string) (k, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

// splitPath splits "a.b[0].c[x.y/z]" into a, b, 0, c, x.y/z: bracketed
// segments are list indexes or map keys, which may contain dots.
func splitPath(path string) []string {
	var segs []string
	for path != "" {
		switch path[0] {
		case '.':
			path = path[1:]
		case '[':
			end := strings.IndexByte(path, ']')
			if end < 0 {
				return append(segs, path[1:])
			}
			segs = append(segs, path[1:end])
			path = path[end+1:]
		default:
			end := strings.IndexAny(path, ".[")
			if end < 0 {
				return append(segs, path)
			}
			segs = append(segs, path[:end])
			path = path[end:]
		}
	}
	return segs
}

// field helpers build the paths lineOf understands.
func fieldPath(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

func indexPath(parent string, i int) string { return parent + "[" + itoa(i) + "]" }

func keyPath(parent, key string) string { return parent + "[" + key + "]" }
