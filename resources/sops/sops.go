// Package sops decrypts YAML manifests encrypted by SOPS with age
// recipients. It implements the SOPS file format itself (AES-256-GCM
// values authenticated with their key path, a SHA-512 MAC over the
// values, the data key age-encrypted to each recipient) on top of
// filippo.io/age, rather than importing github.com/getsops/sops/v3:
// its decrypt package links the AWS, GCP, Azure, Vault and PGP clients
// and makes the reconcile binary, which is copied to every host, 112 MB
// instead of 26 MB.
//
// The rules follow sops v3 (sops.go: Tree.Decrypt, shouldBeEncrypted,
// ToBytes; aes/cipher.go; stores/yaml): the metadata is the first
// document's top-level sops: map; a leaf is encrypted unless one of the
// file's unencrypted_suffix, encrypted_suffix, unencrypted_regex or
// encrypted_regex rules, matched against every key of its path, says
// otherwise; the MAC covers every non-comment leaf of every document in
// order (only the encrypted ones with mac_only_encrypted).
package sops

import (
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The sentinel errors an *Error wraps, for callers that map them.
var (
	// ErrNoKey: the file is encrypted and no age key was given.
	ErrNoKey = errors.New("no age key")
	// ErrWrongKey: none of the given keys opens the file's data key.
	ErrWrongKey = errors.New("wrong age key")
	// ErrTampered: a value or the MAC does not verify: the file was
	// changed after it was encrypted.
	ErrTampered = errors.New("file changed after encryption")
	// ErrFormat: the file is not a SOPS file reconcile can read.
	ErrFormat = errors.New("malformed SOPS file")
)

// Error is one problem with a SOPS file, at a line of it.
type Error struct {
	Line    int
	Field   string // dotted key path of the value, when one is at fault
	Message string
	Err     error // one of the sentinels above
}

func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// NoKeyHint is what to do when a file is encrypted and no key was given.
const NoKeyHint = "set --sops-age-key-file FILE or SOPS_AGE_KEY_FILE to an age key of one of its recipients"

// Line returns the line of the first top-level sops: key of the file's
// documents, or 0 when the file is not SOPS-encrypted. (Only the first
// document may carry it, as sops writes and reads it; Decrypt says so.)
func Line(docs []*yaml.Node) int {
	for _, d := range docs {
		if k, _ := topLevel(d, "sops"); k != nil {
			return k.Line
		}
	}
	return 0
}

// Decrypt decrypts the documents of one SOPS file in place, verifying the
// MAC, and removes their sops: maps and comments (which sops encrypts
// too). It returns the values it decrypted. Nothing is changed when it
// fails; every problem found is returned. keys nil is ErrNoKey.
func Decrypt(docs []*yaml.Node, keys *Keys) ([]Value, []*Error) {
	return run(docs, keys, false)
}

// Redact checks the structure of one SOPS file without a key, as validate
// does: the metadata is well formed and every value the file's rules say
// is encrypted is an ENC[...] value. Encrypted values are replaced by
// an empty value of their type ("", 0, false), their sops: maps removed.
// It returns the values it replaced.
func Redact(docs []*yaml.Node) ([]Value, []*Error) {
	return run(docs, nil, true)
}

// Value is one encrypted value of a file.
type Value struct {
	Doc  int    // index of the document
	Path string // dotted key path, as "data.tls.crt" (dots in keys not escaped)
	Line int
}

func run(docs []*yaml.Node, keys *Keys, redact bool) ([]Value, []*Error) {
	if len(docs) == 0 {
		return nil, nil
	}
	md, errs := parseMetadata(docs)
	if len(errs) > 0 {
		return nil, errs
	}
	var key []byte
	if !redact {
		if keys == nil {
			return nil, []*Error{{Line: md.line, Message: "the file is SOPS-encrypted and no age key was given: " + NoKeyHint, Err: ErrNoKey}}
		}
		var err *Error
		if key, err = md.dataKey(keys); err != nil {
			return nil, []*Error{err}
		}
	}
	w := &walker{md: md, key: key, redact: redact, mac: newMAC(md.macOnlyEncrypted)}
	clones := make([]*yaml.Node, len(docs))
	for i, d := range docs {
		clones[i] = deepCopy(d)
		root := clones[i]
		if root.Kind == yaml.DocumentNode {
			root.HeadComment, root.LineComment, root.FootComment = "", "", ""
			root = root.Content[0]
		}
		removeTopLevel(root, "sops")
		w.doc = i
		w.node(root, nil)
	}
	if len(w.errs) > 0 {
		return nil, w.errs
	}
	if !redact {
		want, err := decryptMAC(md.mac, key, md.lastModifiedRFC3339)
		if err != nil || !strings.EqualFold(want, w.mac.sum()) {
			return nil, []*Error{{Line: md.macLine, Field: "sops.mac", Message: "the MAC does not match the values: the file was changed after it was encrypted; re-encrypt it with sops (sops edit FILE)", Err: ErrTampered}}
		}
	}
	for i, d := range docs {
		*d = *clones[i]
	}
	return w.values, nil
}

// topLevel returns the key and value nodes of key in a document's
// top-level map.
func topLevel(doc *yaml.Node, key string) (k, v *yaml.Node) {
	root := doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == key {
			return root.Content[i], root.Content[i+1]
		}
	}
	return nil, nil
}

func removeTopLevel(root *yaml.Node, key string) {
	if root.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == key {
			root.Content = append(root.Content[:i:i], root.Content[i+2:]...)
			return
		}
	}
}

func deepCopy(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, k := range n.Content {
		c.Content[i] = deepCopy(k)
	}
	return &c
}

func formatErr(line int, field, format string, args ...any) *Error {
	return &Error{Line: line, Field: field, Message: fmt.Sprintf(format, args...), Err: ErrFormat}
}
