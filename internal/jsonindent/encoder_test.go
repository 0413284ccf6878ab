package jsonindent

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"
)

// The Encoder lays out what MarshalIndent does for empty and nested
// objects and arrays, nulls and numbers, at any depth.
func TestEncoderMatchesMarshalIndent(t *testing.T) {
	type inner struct {
		A []int          `json:"a"`
		M map[string]int `json:"m"`
	}
	v := struct {
		Empty  []int   `json:"empty"`
		Nil    []int   `json:"nil"`
		Nested []inner `json:"nested"`
		N      int64   `json:"n"`
	}{Empty: []int{}, Nested: []inner{{A: []int{1, -2}, M: map[string]int{}}, {M: map[string]int{"k<": 3}}}, N: -9223372036854775808}
	want, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	e := NewEncoder("  ")
	b := e.Open(nil, '{')
	b = e.Open(e.Field(b, "empty"), '[')
	b = e.Close(b, ']')
	b = Null(e.Field(b, "nil"))
	b = e.Open(e.Field(b, "nested"), '[')
	b = e.Open(e.Elem(b), '{')
	b = e.Open(e.Field(b, "a"), '[')
	b = strconv.AppendInt(e.Elem(b), 1, 10)
	b = strconv.AppendInt(e.Elem(b), -2, 10)
	b = e.Close(b, ']')
	b = e.Open(e.Field(b, "m"), '{')
	b = e.Close(b, '}')
	b = e.Close(b, '}')
	b = e.Open(e.Elem(b), '{')
	b = Null(e.Field(b, "a"))
	b = e.Open(e.Field(b, "m"), '{')
	b = strconv.AppendInt(e.Key(b, "k<"), 3, 10)
	b = e.Close(b, '}')
	b = e.Close(b, '}')
	b = e.Close(b, ']')
	b = e.IntField(b, "n", -9223372036854775808)
	b = e.Close(b, '}')
	if !bytes.Equal(b, want) {
		t.Errorf("Encoder wrote\n%s\nwant\n%s", b, want)
	}
}

// StringField and OmitEmpty against a struct with and without omitempty;
// Encoder state carries over objects nested in arrays nested in objects.
func TestEncoderFields(t *testing.T) {
	type s struct {
		A string `json:"a"`
		B string `json:"b,omitempty"`
		C string `json:"c,omitempty"`
	}
	for _, v := range []s{{}, {A: "x"}, {B: "y"}, {C: "z"}, {"<", "\u2028", "\xff"}} {
		want, err := json.MarshalIndent([]s{v, v}, "", "\t")
		if err != nil {
			t.Fatal(err)
		}
		e := NewEncoder("\t")
		b := e.Open(nil, '[')
		for range 2 {
			b = e.Open(e.Elem(b), '{')
			b = e.StringField(b, "a", v.A)
			b = e.OmitEmpty(b, "b", v.B)
			b = e.OmitEmpty(b, "c", v.C)
			b = e.Close(b, '}')
		}
		b = e.Close(b, ']')
		if !bytes.Equal(b, want) {
			t.Errorf("%#v: wrote\n%s\nwant\n%s", v, b, want)
		}
	}
}
