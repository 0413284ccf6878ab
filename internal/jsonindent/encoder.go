package jsonindent

import "strconv"

// Encoder lays out indented JSON as json.MarshalIndent(v, "", indent)
// does, for the hand-written encoders of the files too big to go through
// reflection on every pass. The caller writes the values in the order and
// with the omissions encoding/json would; the Encoder does the separators,
// newlines and indentation.
//
// Its methods take the output and return it extended, as append does, so
// that it stays in the caller's variables: kept in the Encoder, every
// write to it went through a GC write barrier, 10% of the encoding.
//
// It needs no stack: fresh is whether the innermost open object or array
// has had nothing written in it yet, and once a value inside a member is
// closed its container is, by construction, no longer fresh.
type Encoder struct {
	indent string
	pad    []byte // a newline and the deepest level's indentation so far
	depth  int
	fresh  bool
}

// NewEncoder indents each level by indent.
func NewEncoder(indent string) *Encoder {
	// Room for 16 levels: more than the files nest.
	pad := append(make([]byte, 0, 1+16*len(indent)), '\n')
	return &Encoder{indent: indent, pad: pad}
}

// slack is how much room newline keeps ahead of the next line: more than
// any line of the big files needs, so that only newline has to check.
const slack = 4 << 10

func (e *Encoder) newline(b []byte) []byte {
	n := 1 + e.depth*len(e.indent)
	if cap(b)-len(b) < n+slack {
		b = grow(b, n+slack)
	}
	for len(e.pad) < n {
		e.pad = append(e.pad, e.indent...)
	}
	return append(b, e.pad[:n]...)
}

// grow at least doubles b's capacity. append alone grows a large slice by
// a quarter at a time, and for a file of megabytes written from nothing
// that was 5 times its size allocated and 4 times copied.
func grow(b []byte, need int) []byte {
	g := make([]byte, len(b), max(2*cap(b), len(b)+need))
	copy(g, b)
	return g
}

// next separates a member or element from the one before it and puts it
// on its own line.
func (e *Encoder) next(b []byte) []byte {
	if !e.fresh {
		b = append(b, ',')
	}
	e.fresh = false
	return e.newline(b)
}

// Open begins an object ('{') or an array ('[').
func (e *Encoder) Open(b []byte, c byte) []byte {
	e.depth++
	e.fresh = true
	return append(b, c)
}

// Close ends what Open began with c ('}' or ']'). Nothing written in it
// stays {} or [] on one line, as MarshalIndent writes an empty map or
// slice.
func (e *Encoder) Close(b []byte, c byte) []byte {
	e.depth--
	if !e.fresh {
		b = e.newline(b)
	}
	e.fresh = false
	return append(b, c)
}

// Key begins an object member named k, escaped as any string; its value
// comes next. For a map's keys.
func (e *Encoder) Key(b []byte, k string) []byte {
	return append(AppendString(e.next(b), k), ':', ' ')
}

// Field begins a struct field's member; its value comes next. name is
// written as it is: it must be a plain name, as the struct tags give
// them, that JSON need not escape.
func (e *Encoder) Field(b []byte, name string) []byte {
	b = append(e.next(b), '"')
	b = append(b, name...)
	return append(b, '"', ':', ' ')
}

// Elem begins an array element; its value comes next.
func (e *Encoder) Elem(b []byte) []byte { return e.next(b) }

// StringField is the field name with string value v.
func (e *Encoder) StringField(b []byte, name, v string) []byte {
	return AppendString(e.Field(b, name), v)
}

// OmitEmpty is StringField for an omitempty field: nothing when v is "".
func (e *Encoder) OmitEmpty(b []byte, name, v string) []byte {
	if v == "" {
		return b
	}
	return e.StringField(b, name, v)
}

// IntField is the field name with integer value v, in decimal as
// json.Marshal writes every integer type.
func (e *Encoder) IntField(b []byte, name string, v int64) []byte {
	return strconv.AppendInt(e.Field(b, name), v, 10)
}

// Null is what json.Marshal writes for a nil slice, map or pointer that
// is not omitted.
func Null(b []byte) []byte { return append(b, "null"...) }

// Array writes items as encoding/json writes a slice: null when nil, else
// each element by enc (a method expression such as (*T).encode fits) in
// an array.
func Array[T any](e *Encoder, b []byte, items []T, enc func(*T, *Encoder, []byte) []byte) []byte {
	if items == nil {
		return Null(b)
	}
	b = e.Open(b, '[')
	for i := range items {
		b = enc(&items[i], e, e.Elem(b))
	}
	return e.Close(b, ']')
}
