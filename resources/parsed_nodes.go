package resources

import (
	"encoding/binary"
	"errors"
	"math"

	"go.yaml.in/yaml/v3"
)

// A file's parsed documents (splitDocuments' result) written out compactly,
// so a later load of the same bytes skips the YAML parser (parsed_cache.go):
// at thousands of documents, parsing is most of a no-op run's CPU. Every
// field of yaml.Node is kept, so what reads the nodes (decodeDocument,
// documentTexts, decryption, lineOf) cannot tell the two apart. Documents
// with aliases are not written: an alias points into its document, and the
// parser's own expansion checks (withinExpansion) are cheap there anyway.
//
// The layout: uvarint document count, uvarint node count, then every node
// in pre-order: kind byte, a byte of which strings follow, uvarint style,
// line, column and child count, then the strings present (uvarint length,
// bytes) in the order tag, value, anchor, head, line and foot comment; bit i
// of the flags byte says whether the i-th of them is there.

// encodeNodes writes docs out; false when a document holds an alias.
func encodeNodes(docs []*yaml.Node) ([]byte, bool) {
	count := 0
	var walk func(n *yaml.Node) bool
	walk = func(n *yaml.Node) bool {
		if n.Kind == yaml.AliasNode || n.Alias != nil {
			return false
		}
		count++
		for _, c := range n.Content {
			if !walk(c) {
				return false
			}
		}
		return true
	}
	for _, d := range docs {
		if !walk(d) {
			return nil, false
		}
	}
	b := binary.AppendUvarint(nil, uint64(len(docs)))
	b = binary.AppendUvarint(b, uint64(count))
	var put func(n *yaml.Node)
	put = func(n *yaml.Node) {
		strs := [...]string{n.Tag, n.Value, n.Anchor, n.HeadComment, n.LineComment, n.FootComment}
		var flags byte
		for i, s := range strs {
			if s != "" {
				flags |= 1 << i
			}
		}
		b = append(b, byte(n.Kind), flags)
		b = binary.AppendUvarint(b, uint64(n.Style))
		b = binary.AppendUvarint(b, uint64(n.Line))
		b = binary.AppendUvarint(b, uint64(n.Column))
		b = binary.AppendUvarint(b, uint64(len(n.Content)))
		for _, s := range strs {
			if s != "" {
				b = binary.AppendUvarint(b, uint64(len(s)))
				b = append(b, s...)
			}
		}
		for _, c := range n.Content {
			put(c)
		}
	}
	for _, d := range docs {
		put(d)
	}
	return b, true
}

var errBadNodes = errors.New("parsed nodes: malformed")

// nodeReader reads what encodeNodes wrote. Its input comes from a file on
// disk, so every length and count is checked against what is left.
type nodeReader struct {
	s     string // the encoding; node strings are slices of it
	off   int
	nodes []yaml.Node  // all nodes, allocated at once
	kids  []*yaml.Node // all Content slices, cut from one array
	err   error
}

func (r *nodeReader) uvarint() int {
	v, n := uvarintString(r.s[r.off:])
	if n <= 0 || v > math.MaxInt32 {
		r.err = errBadNodes
		return 0
	}
	r.off += n
	return int(v)
}

func (r *nodeReader) byte() byte {
	if r.off >= len(r.s) {
		r.err = errBadNodes
		return 0
	}
	c := r.s[r.off]
	r.off++
	return c
}

func (r *nodeReader) str() string {
	n := r.uvarint()
	if r.err != nil || n > len(r.s)-r.off {
		r.err = errBadNodes
		return ""
	}
	s := r.s[r.off : r.off+n]
	r.off += n
	return s
}

// node reads one node and its children; depth bounds the recursion, as
// the parser's own nesting limit does.
func (r *nodeReader) node(depth int) *yaml.Node {
	if r.err != nil || len(r.nodes) == 0 || depth > 10000 {
		r.err = errBadNodes
		return nil
	}
	n := &r.nodes[0]
	r.nodes = r.nodes[1:]
	switch kind := yaml.Kind(r.byte()); kind {
	case yaml.DocumentNode, yaml.SequenceNode, yaml.MappingNode, yaml.ScalarNode:
		n.Kind = kind
	default:
		r.err = errBadNodes
		return nil
	}
	flags := r.byte()
	n.Style = yaml.Style(r.uvarint())
	n.Line, n.Column = r.uvarint(), r.uvarint()
	kids := r.uvarint()
	strs := [...]*string{&n.Tag, &n.Value, &n.Anchor, &n.HeadComment, &n.LineComment, &n.FootComment}
	for i, p := range strs {
		if flags&(1<<i) != 0 {
			*p = r.str()
		}
	}
	if r.err != nil || kids > len(r.kids) {
		r.err = errBadNodes
		return nil
	}
	if kids > 0 {
		n.Content, r.kids = r.kids[:kids:kids], r.kids[kids:]
		for i := range n.Content {
			if n.Content[i] = r.node(depth + 1); r.err != nil {
				return nil
			}
		}
	}
	return n
}

// decodeNodes reads back what encodeNodes wrote.
func decodeNodes(enc string) ([]*yaml.Node, error) {
	r := &nodeReader{s: enc}
	ndocs, count := r.uvarint(), r.uvarint()
	if r.err != nil || ndocs > count || count > len(enc) {
		return nil, errBadNodes
	}
	if ndocs == 0 && count == 0 && r.off == len(enc) {
		return nil, nil // as splitDocuments says "no documents"
	}
	r.nodes = make([]yaml.Node, count)
	r.kids = make([]*yaml.Node, count-ndocs)
	docs := make([]*yaml.Node, ndocs)
	for i := range docs {
		if docs[i] = r.node(0); r.err != nil {
			return nil, r.err
		}
	}
	if r.off != len(enc) || len(r.nodes) != 0 {
		return nil, errBadNodes
	}
	return docs, nil
}

// uvarintString is binary.Uvarint for a string, without copying it.
func uvarintString(s string) (uint64, int) {
	var x uint64
	var shift uint
	for i := 0; i < len(s) && i < binary.MaxVarintLen64; i++ {
		c := s[i]
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				return 0, -1
			}
			return x | uint64(c)<<shift, i + 1
		}
		x |= uint64(c&0x7f) << shift
		shift += 7
	}
	return 0, 0
}
