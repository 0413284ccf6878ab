package sops

import (
	"crypto/sha512"
	"fmt"
	"hash"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// macOnlyEncryptedInit is what sops hashes first with mac_only_encrypted,
// so that such a MAC never equals one over all values.
var macOnlyEncryptedInit = []byte{0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0xb, 0xb, 0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69}

type mac struct{ h hash.Hash }

func newMAC(onlyEncrypted bool) *mac {
	m := &mac{h: sha512.New()}
	if onlyEncrypted {
		m.h.Write(macOnlyEncryptedInit)
	}
	return m
}

func (m *mac) sum() string { return fmt.Sprintf("%X", m.h.Sum(nil)) }

// maxErrors bounds the problems reported per file.
const maxErrors = 20

// walker visits a document's leaves in order, as sops' tree walk does:
// a map value's path is its parent's plus its key, a sequence item's is
// its parent's; null leaves are skipped.
type walker struct {
	md     *metadata
	key    []byte // nil when redacting
	redact bool
	mac    *mac
	doc    int
	errs   []*Error
	values []Value
}

func (w *walker) node(n *yaml.Node, path []string) {
	if len(w.errs) >= maxErrors {
		return
	}
	n.HeadComment, n.LineComment, n.FootComment = "", "", ""
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			k.HeadComment, k.LineComment, k.FootComment = "", "", ""
			if k.Kind != yaml.ScalarNode {
				w.errs = append(w.errs, formatErr(k.Line, strings.Join(path, "."), "has a key that is not a string, which sops does not encrypt"))
				continue
			}
			w.node(n.Content[i+1], append(path[:len(path):len(path)], k.Value))
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			w.node(c, path)
		}
	case yaml.AliasNode:
		w.errs = append(w.errs, formatErr(n.Line, strings.Join(path, "."), "is a YAML alias: reconcile does not read aliases in SOPS files; write the value out"))
	case yaml.ScalarNode:
		w.leaf(n, path)
	}
}

func (w *walker) leaf(n *yaml.Node, path []string) {
	if n.ShortTag() == "!!null" {
		return
	}
	field := strings.Join(path, ".")
	if !w.md.encrypted(path) {
		b, err := plainBytes(n)
		if err != nil {
			w.errs = append(w.errs, formatErr(n.Line, field, "%v", err))
			return
		}
		if !w.md.macOnlyEncrypted {
			w.mac.h.Write(b)
		}
		return
	}
	if n.Value == "" {
		// sops leaves the empty string as it is.
		w.mac.h.Write(nil)
		return
	}
	ev, err := parseValue(n.Value)
	if err != nil {
		w.errs = append(w.errs, formatErr(n.Line, field, "%s", err))
		return
	}
	w.values = append(w.values, Value{Doc: w.doc, Path: field, Line: n.Line})
	if w.redact {
		v, tag := ev.zero()
		n.Value, n.Tag, n.Style = v, tag, 0
		return
	}
	plain, err := ev.open(w.key, strings.Join(path, ":")+":")
	if err != nil {
		w.errs = append(w.errs, &Error{Line: n.Line, Field: field, Err: ErrTampered,
			Message: "cannot be decrypted with the file's data key: the value was changed or copied from another file after encryption; re-encrypt it with sops"})
		return
	}
	tv, err := typed(ev.typ, plain)
	if err != nil {
		w.errs = append(w.errs, formatErr(n.Line, field, "%v", err))
		return
	}
	if tv.comment {
		// A comment's value, in a list: not part of the data.
		return
	}
	w.mac.h.Write(tv.macBytes)
	n.Value, n.Tag, n.Style = tv.value, tv.tag, 0
	if tv.tag == "!!str" {
		n.Style = yaml.DoubleQuotedStyle
	}
}

// encrypted is sops' shouldBeEncrypted, without the comment rules
// (which reconcile rejects).
func (m *metadata) encrypted(path []string) bool {
	enc := true
	if m.unencryptedSuffix != "" {
		for _, p := range path {
			if strings.HasSuffix(p, m.unencryptedSuffix) {
				enc = false
				break
			}
		}
	}
	if m.encryptedSuffix != "" {
		enc = false
		for _, p := range path {
			if strings.HasSuffix(p, m.encryptedSuffix) {
				enc = true
				break
			}
		}
	}
	if m.unencryptedRegex != nil {
		for _, p := range path {
			if m.unencryptedRegex.MatchString(p) {
				enc = false
				break
			}
		}
	}
	if m.encryptedRegex != nil {
		enc = false
		for _, p := range path {
			if m.encryptedRegex.MatchString(p) {
				enc = true
				break
			}
		}
	}
	return enc
}

// plainBytes is sops' ToBytes of an unencrypted scalar as its YAML store
// decodes it (yaml.v3 into interface{}).
func plainBytes(n *yaml.Node) ([]byte, error) {
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, err
	}
	switch v := v.(type) {
	case string:
		return []byte(v), nil
	case int:
		return fmt.Appendf(nil, "%d", v), nil
	case float64:
		return []byte(formatFloat(v)), nil
	case bool:
		if v {
			return []byte("True"), nil
		}
		return []byte("False"), nil
	case time.Time:
		return v.MarshalText()
	}
	return nil, fmt.Errorf("holds a %T value, which sops cannot authenticate", v)
}
