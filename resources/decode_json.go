package resources

import (
	"bytes"
	"encoding"
	"encoding/json"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// treeJSON writes the JSON that sigs.k8s.io/yaml makes of a document's
// text for a target of type t, straight from the tree checkNode walked:
// decoding is then one YAML parse and one JSON decode, where
// sigs.k8s.io/yaml parses the text again with yaml.v2 into a generic
// tree, converts that and marshals it (at 2,000 objects, a third of a
// no-op run's CPU).
//
// The values must mean exactly what they mean to sigs.k8s.io/yaml, which
// resolves plain scalars as YAML 1.1 (yaml.v2: yes and on are true, 0777
// is octal, a date is a timestamp) and turns a number or a boolean into a
// string where the Go field is a string. So treeJSON writes only what it
// knows to be the same either way: quoted and block scalars, plain ones
// that are plain words, true/false, null, and integers written plainly in
// decimal; the field it writes into is the one sigs.k8s.io/yaml picks,
// with the same conversion. Anything else (another number form, a YAML
// 1.1 word, an explicit tag, an alias, a duplicate key, a key that is not
// a plain string) answers false, and the caller decodes the text as
// before; so does a text with a '!' anywhere, since a "!" tag leaves no
// mark in the tree.
func treeJSON(doc *yaml.Node, text []byte, t reflect.Type) ([]byte, bool) {
	if bytes.IndexByte(text, '!') >= 0 || doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, false
	}
	w := jsonWriter{buf: make([]byte, 0, len(text)+len(text)/2)}
	tt, addr := indirectTarget(t, false)
	if !w.node(doc.Content[0], tt, addr, 0) {
		return nil, false
	}
	return w.buf, true
}

type jsonWriter struct{ buf []byte }

var (
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// indirectTarget is the type sigs.k8s.io/yaml converts a value for, as its
// indirect finds it: through pointers, taking the address of a named
// addressable value; nil (no conversion below) for a type that decodes
// itself (json.Unmarshaler, encoding.TextUnmarshaler). addr says whether
// the value there is addressable.
func indirectTarget(t reflect.Type, addr bool) (reflect.Type, bool) {
	if t == nil {
		return nil, false
	}
	if t.Kind() != reflect.Pointer && t.Name() != "" && addr {
		t = reflect.PointerTo(t)
	}
	for t.Kind() == reflect.Pointer {
		if t.NumMethod() > 0 && (t.Implements(jsonUnmarshalerType) || t.Implements(textUnmarshalerType)) {
			return nil, false
		}
		t, addr = t.Elem(), true
	}
	return t, addr
}

func (w *jsonWriter) node(n *yaml.Node, t reflect.Type, addr bool, depth int) bool {
	if depth > 64 || n.Style&yaml.TaggedStyle != 0 {
		return false
	}
	switch n.Kind {
	case yaml.MappingNode:
		return w.mapping(n, t, addr, depth)
	case yaml.SequenceNode:
		var et reflect.Type
		if t != nil && t.Kind() == reflect.Slice {
			et = t.Elem()
		}
		w.buf = append(w.buf, '[')
		for i, c := range n.Content {
			if i > 0 {
				w.buf = append(w.buf, ',')
			}
			ct, caddr := indirectTarget(et, true)
			if !w.node(c, ct, caddr, depth+1) {
				return false
			}
		}
		w.buf = append(w.buf, ']')
		return true
	case yaml.ScalarNode:
		return w.scalar(n, t)
	}
	return false // an alias, or a document inside a document
}

func (w *jsonWriter) mapping(n *yaml.Node, t reflect.Type, addr bool, depth int) bool {
	if len(n.Content)%2 != 0 {
		return false
	}
	var fields map[string][]structField
	if t != nil && t.Kind() == reflect.Struct {
		fields = fieldsOf(t)
	}
	seen := make(map[string]bool, len(n.Content)/2)
	w.buf = append(w.buf, '{')
	for i := 0; i < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key, ok := plainString(k)
		if !ok || seen[key] {
			return false
		}
		seen[key] = true
		var vt reflect.Type
		vaddr := false
		switch {
		case fields != nil:
			f, ok := lookupField(fields, key)
			if !ok {
				return false
			}
			if f != nil {
				vt, vaddr = t.Field(f.top).Type, addr
			}
		case t != nil && t.Kind() == reflect.Map:
			vt = t.Elem() // a map's element is not addressable
		}
		if i > 0 {
			w.buf = append(w.buf, ',')
		}
		w.buf = appendJSONString(w.buf, key)
		w.buf = append(w.buf, ':')
		vt, vaddr = indirectTarget(vt, vaddr)
		if !w.node(v, vt, vaddr, depth+1) {
			return false
		}
	}
	w.buf = append(w.buf, '}')
	return true
}

// scalar writes n as yaml.v2 resolves it, converted to a string where the
// target is one.
func (w *jsonWriter) scalar(n *yaml.Node, t reflect.Type) bool {
	toString := t != nil && t.Kind() == reflect.String
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		w.buf = appendJSONString(w.buf, n.Value)
		return true
	}
	v := n.Value
	switch v {
	case "", "~", "null", "Null", "NULL":
		w.buf = append(w.buf, "null"...)
		return true
	case "true", "True", "TRUE", "false", "False", "FALSE":
		b := "false"
		if v[0] == 't' || v[0] == 'T' {
			b = "true"
		}
		if toString {
			w.buf = appendJSONString(w.buf, b)
		} else {
			w.buf = append(w.buf, b...)
		}
		return true
	}
	if decimalInt(v) {
		if toString {
			w.buf = appendJSONString(w.buf, v)
		} else {
			w.buf = append(w.buf, v...)
		}
		return true
	}
	if s, ok := plainString(n); ok {
		w.buf = appendJSONString(w.buf, s)
		return true
	}
	return false
}

// plainString is n's value when yaml.v2 reads it as a string: quoted, or
// plain and none of the YAML 1.1 words (yes, on, .inf, ...), numbers or
// timestamps (500m and 10.0.0.1 are strings; 0777, 1e3 and 1.25 are not).
func plainString(n *yaml.Node) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Style&yaml.TaggedStyle != 0 {
		return "", false
	}
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return n.Value, true
	}
	v := n.Value
	if v == "" || n.ShortTag() != "!!str" {
		return "", false
	}
	if yaml11Word[v] {
		return "", false
	}
	switch c := v[0]; {
	case c == '.':
		if _, err := strconv.ParseFloat(v, 64); err == nil {
			return "", false
		}
	case c == '+' || c == '-' || c >= '0' && c <= '9':
		if !yaml11NumberlessString(v) {
			return "", false
		}
	}
	return v, true
}

// yaml11NumberlessString says whether yaml.v2 reads v, a plain scalar
// starting with a sign or a digit, as a string: not a date or time, and no
// integer (any base, underscores and all) or float.
func yaml11NumberlessString(v string) bool {
	if len(v) > 4 && strings.Trim(v[:4], "0123456789") == "" && v[4] == '-' {
		return false // may be a timestamp
	}
	plain := strings.ReplaceAll(v, "_", "")
	if _, err := strconv.ParseInt(plain, 0, 64); err == nil {
		return false
	}
	if _, err := strconv.ParseUint(plain, 0, 64); err == nil {
		return false
	}
	return !yaml11Float.MatchString(plain) && !strings.HasPrefix(plain, "0b") && !strings.HasPrefix(plain, "-0b")
}

// yaml11Float is the float syntax of YAML 1.1 as yaml.v2 matches it.
var yaml11Float = regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)

// yaml11Word are the plain words yaml.v2 resolves to something other than
// a string, besides true, false and null.
var yaml11Word = map[string]bool{
	".nan": true, ".NaN": true, ".NAN": true, ".inf": true, ".Inf": true, ".INF": true,
	"+.inf": true, "+.Inf": true, "+.INF": true, "-.inf": true, "-.Inf": true, "-.INF": true,
	"y": true, "Y": true, "yes": true, "Yes": true, "YES": true,
	"n": true, "N": true, "no": true, "No": true, "NO": true,
	"on": true, "On": true, "ON": true, "off": true, "Off": true, "OFF": true,
	"true": true, "True": true, "TRUE": true, "false": true, "False": true, "FALSE": true,
	"null": true, "Null": true, "NULL": true, "~": true,
}

// decimalInt says whether v is an integer as both YAML versions and JSON
// write it alike: 0, or digits not starting with 0, after an optional
// minus, and small enough for an int64.
func decimalInt(v string) bool {
	d := strings.TrimPrefix(v, "-")
	if d == "" || len(d) > 18 || (d[0] == '0' && (len(d) > 1 || len(v) > 1)) {
		return false
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return false
		}
	}
	return true
}

// appendJSONString appends s as encoding/json writes a string, invalid
// UTF-8 replaced as it replaces it.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// structField is a JSON field of a struct as encoding/json finds it: top
// is the index of the struct's own field it is in (itself, or the
// embedded struct that promotes it), depth how deep it is promoted.
type structField struct {
	top, depth int
	tagged     bool
}

var fieldCache sync.Map // reflect.Type -> map[string][]structField

func fieldsOf(t reflect.Type) map[string][]structField {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string][]structField)
	}
	m := map[string][]structField{}
	var walk func(t reflect.Type, top, depth int)
	walk = func(t reflect.Type, top, depth int) {
		if depth > 8 {
			return
		}
		for i := range t.NumField() {
			sf := t.Field(i)
			at := top
			if depth == 0 {
				at = i
			}
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if sf.Anonymous {
				ft := sf.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if name == "" && ft.Kind() == reflect.Struct {
					walk(ft, at, depth+1)
					continue
				}
			}
			if !sf.IsExported() {
				continue
			}
			if name == "" {
				name = sf.Name
			}
			m[name] = append(m[name], structField{top: at, depth: depth, tagged: tag != "" && !strings.HasPrefix(tag, ",")})
		}
	}
	walk(t, 0, 0)
	fieldCache.Store(t, m)
	return m
}

// lookupField is the field a key decodes into, as encoding/json (and so
// sigs.k8s.io/yaml) picks it: the shallowest, a tagged one among equals.
// It answers nil, true for a key of no field, and false where the two
// could differ: a key that matches a field only ignoring case, or
// several fields alike.
func lookupField(fields map[string][]structField, key string) (*structField, bool) {
	cands := fields[key]
	if len(cands) == 0 {
		for name := range fields {
			if strings.EqualFold(name, key) {
				return nil, false
			}
		}
		return nil, true
	}
	var best []structField
	for _, c := range cands {
		switch {
		case len(best) == 0 || c.depth < best[0].depth:
			best = []structField{c}
		case c.depth == best[0].depth:
			best = append(best, c)
		}
	}
	if len(best) > 1 {
		var tagged []structField
		for _, c := range best {
			if c.tagged {
				tagged = append(tagged, c)
			}
		}
		if len(tagged) != 1 {
			return nil, false
		}
		best = tagged
	}
	return &best[0], true
}
