// Package jsonindent writes JSON indented as encoding/json.MarshalIndent
// does, several times faster: the endpoints file, the DNS records and the
// allocation record of 2,000 Services are megabytes, encoded on every
// pass, and MarshalIndent spends most of its time in the validating
// scanner its indent pass runs over output it has just produced.
//
// Marshal still takes encoding/json's reflection (the allocation record
// goes through it); the two biggest files are written by hand-written
// encoders (reconcile's EndpointsList, clusterdns's Records) with the
// Encoder and AppendString here, which lay out and escape exactly as
// MarshalIndent does.
package jsonindent

import "encoding/json"

// Marshal is json.MarshalIndent(v, "", indent), byte for byte.
func Marshal(v any, indent string) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return Indent(make([]byte, 0, len(b)*2), b, indent), nil
}

// Indent appends compact JSON src (as json.Marshal writes it: no space
// outside strings) to dst, indented as json.Indent(dst, src, "", indent)
// would. src is not validated.
func Indent(dst, src []byte, indent string) []byte {
	depth := 0
	needIndent, inString, escaped := false, false, false
	pad := []byte{'\n'} // a newline and depth indents, grown as needed
	newline := func() {
		for len(pad) < 1+depth*len(indent) {
			pad = append(pad, indent...)
		}
		dst = append(dst, pad[:1+depth*len(indent)]...)
	}
	for _, c := range src {
		if inString {
			dst = append(dst, c)
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		if needIndent && c != '}' && c != ']' {
			needIndent = false
			depth++
			newline()
		}
		switch c {
		case '"':
			inString = true
			dst = append(dst, c)
		case '{', '[':
			// Indented only once something follows: {} and [] stay so.
			needIndent = true
			dst = append(dst, c)
		case ',':
			dst = append(dst, c)
			newline()
		case ':':
			dst = append(dst, c, ' ')
		case '}', ']':
			if needIndent {
				needIndent = false
			} else {
				depth--
				newline()
			}
			dst = append(dst, c)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}
