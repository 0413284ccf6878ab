// Package gen turns fuzz input into values for the tests that hold the
// hand-written JSON encoders to encoding/json: every choice a value's
// shape allows (empty or not, nil or empty, zero or not) and strings that
// hit every escape, so that each byte the fuzzer flips reaches a
// different corner; and CheckFields, which notices when those types gain
// a field their encoder does not write. Only tests import it.
package gen

import (
	"bytes"
	"encoding/binary"
)

// Gen reads its choices from fuzz input; once the input runs out every
// choice is the zero one, so any input makes a finite value.
type Gen struct{ in []byte }

// New reads choices from in.
func New(in []byte) *Gen { return &Gen{in: in} }

// Byte is the next input byte, 0 when there is none.
func (g *Gen) Byte() byte {
	if len(g.in) == 0 {
		return 0
	}
	c := g.in[0]
	g.in = g.in[1:]
	return c
}

// Len is a slice or map length: -1 for nil, 0 for empty, else 1 to 4.
func (g *Gen) Len() int {
	switch c := g.Byte() % 6; c {
	case 0:
		return -1
	case 1:
		return 0
	default:
		return int(c) - 1
	}
}

// pieces are what strings are made of besides the input's own bytes: the
// characters encoding/json escapes or treats specially, multi-byte runes
// and bytes that are not UTF-8.
var pieces = []string{
	"a", "svc-0001", "198.18.1.2", `"`, `\`, "/", "<", ">", "&", "\b", "\f", "\n", "\r", "\t",
	"\x00", "\x1f", "\x7f", "é", "日本", "\u2028", "\u2029", "\U0001F600", "\ufffd",
	"\xff", "\xc3", "\xe2\x80", "\xed\xa0\x80", "{}[],: ",
}

// String is "" a quarter of the time, else 1 to 6 pieces, each a known
// troublemaker or a raw input byte.
func (g *Gen) String() string {
	n := int(g.Byte() % 8)
	if n < 2 {
		return ""
	}
	var s []byte
	for range n - 1 {
		c := g.Byte()
		if int(c) < len(pieces) {
			s = append(s, pieces[c]...)
		} else {
			s = append(s, g.Byte())
		}
	}
	return string(s)
}

// Int64 is 0 half of the time, else any 64-bit integer.
func (g *Gen) Int64() int64 {
	if g.Byte()%2 == 0 {
		return 0
	}
	var b [8]byte
	for i := range b {
		b[i] = g.Byte()
	}
	return int64(binary.LittleEndian.Uint64(b[:]))
}

// Seeds are the fuzz seeds every generator-driven fuzzer starts from: no
// input, short mixed runs, escapes and invalid UTF-8 for the strings, and
// long runs that make many elements.
func Seeds() [][]byte {
	return [][]byte{
		{},
		[]byte("\x07\x03\x05\x04\x02\x03\x06\x05\x02\x04\x03\x02\x05\x03\x01\x02\x03\x04\x05"),
		[]byte("\x02\x01\x03\x02\x05\x00\x06\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x05\x02\x03\x04\x05\x01"),
		[]byte("\x07\x14\x15\x16\x17\x18\x19\x03\x07\x01\x02\x03\x04\x05\x06\x07\x05\x04\x03\x02\x01\x00\xff\xfe\x80\x7f"),
		[]byte("\x05\xff\x41\xff\xc3\xff\xe2\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05"),
		bytes.Repeat([]byte{0x03}, 200),
		bytes.Repeat([]byte{0x05, 0x07, 0x13, 0x01}, 80),
	}
}
