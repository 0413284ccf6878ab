package sops

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"regexp"
	"strconv"
	"time"
)

// encRE is sops' encrypted value format (aes/cipher.go).
var encRE = regexp.MustCompile(`^ENC\[AES256_GCM,data:(.*),iv:(.+),tag:(.+),type:(.+)\]$`)

type encValue struct {
	data, iv, tag []byte
	typ           string
}

func parseValue(s string) (*encValue, error) {
	m := encRE.FindStringSubmatch(s)
	if m == nil {
		return nil, errors.New("is not encrypted (no ENC[AES256_GCM,...] value) though the file's sops rules say it is: it was added or changed after encryption; re-encrypt the file with sops")
	}
	var parts [3][]byte
	for i := range parts {
		b, err := base64.StdEncoding.DecodeString(m[i+1])
		if err != nil {
			return nil, errors.New("is a malformed ENC[...] value (bad base64)")
		}
		parts[i] = b
	}
	if len(parts[1]) == 0 || len(parts[2]) != 16 {
		return nil, errors.New("is a malformed ENC[...] value (iv or tag)")
	}
	switch m[4] {
	case "str", "int", "float", "bytes", "bool", "time", "comment":
	default:
		return nil, errors.New("is an ENC[...] value of unknown type " + strconv.Quote(m[4]))
	}
	return &encValue{data: parts[0], iv: parts[1], tag: parts[2], typ: m[4]}, nil
}

// open decrypts with AES-256-GCM, the key path (aad) authenticated.
func (e *encValue) open(key []byte, aad string) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, len(e.iv))
	if err != nil {
		return nil, err
	}
	ct := append(append([]byte(nil), e.data...), e.tag...)
	return gcm.Open(nil, e.iv, ct, []byte(aad))
}

// zero is the placeholder Redact puts in place of a value of e's type.
func (e *encValue) zero() (value, tag string) {
	switch e.typ {
	case "int":
		return "0", "!!int"
	case "float":
		return "0", "!!float"
	case "bool":
		return "false", "!!bool"
	}
	return "", "!!str"
}

type typedValue struct {
	value, tag string
	macBytes   []byte
	comment    bool
}

// typed converts a decrypted value as sops' cipher does and gives the
// bytes its MAC takes (ToBytes).
func typed(typ string, plain []byte) (typedValue, error) {
	s := string(plain)
	switch typ {
	case "str", "bytes":
		return typedValue{value: s, tag: "!!str", macBytes: plain}, nil
	case "comment":
		return typedValue{comment: true}, nil
	case "int":
		v, err := strconv.Atoi(s)
		if err != nil {
			return typedValue{}, errors.New("decrypts to a malformed int")
		}
		return typedValue{value: strconv.Itoa(v), tag: "!!int", macBytes: []byte(strconv.Itoa(v))}, nil
	case "float":
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return typedValue{}, errors.New("decrypts to a malformed float")
		}
		return typedValue{value: s, tag: "!!float", macBytes: []byte(formatFloat(v))}, nil
	case "bool":
		v, err := strconv.ParseBool(s)
		if err != nil {
			return typedValue{}, errors.New("decrypts to a malformed bool")
		}
		mb := "False"
		if v {
			mb = "True"
		}
		return typedValue{value: strconv.FormatBool(v), tag: "!!bool", macBytes: []byte(mb)}, nil
	case "time":
		var t time.Time
		if err := t.UnmarshalText(plain); err != nil {
			return typedValue{}, errors.New("decrypts to a malformed time")
		}
		b, _ := t.MarshalText()
		return typedValue{value: string(b), tag: "!!timestamp", macBytes: b}, nil
	}
	return typedValue{}, errors.New("unknown ENC[...] type " + strconv.Quote(typ))
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// decryptMAC opens the file's encrypted MAC (authenticated with
// lastmodified).
func decryptMAC(s string, key []byte, aad string) (string, error) {
	ev, err := parseValue(s)
	if err != nil {
		return "", err
	}
	b, err := ev.open(key, aad)
	return string(b), err
}
