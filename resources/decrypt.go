package resources

import (
	"bytes"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/reconcile-dev/reconcile/resources/sops"
)

// Decryption says how SOPS-encrypted manifests are read.
type Decryption struct {
	// Keys are the age keys (--sops-age-key-file, SOPS_AGE_KEY_FILE,
	// SOPS_AGE_KEY); nil when none was given.
	Keys *sops.Keys
	// WithoutKey lets an encrypted file load without Keys, as validate
	// does: its structure is checked and its encrypted values are
	// replaced by empty ones (their keys are known, their values not).
	WithoutKey bool
}

// identityFields must stay readable for a file to be checked without
// its key: they say what the object is.
var identityFields = map[string]bool{"apiVersion": true, "kind": true, "metadata.name": true, "metadata.namespace": true}

// decrypt decrypts the documents of a SOPS-encrypted file in place, on
// the runner and in memory only. It reports every problem with file and
// line and returns false when the file's objects must be left out.
// Documents that came out of a SOPS file are remembered in r.encrypted,
// so their objects' Source says so.
func (r *reporter) decrypt(file string, docs []*yaml.Node) bool {
	line := sops.Line(docs)
	if line == 0 {
		return true
	}
	var errs []*sops.Error
	var values []sops.Value
	switch {
	case r.decryption.Keys != nil:
		values, errs = sops.Decrypt(docs, r.decryption.Keys)
	case r.decryption.WithoutKey:
		values, errs = sops.Redact(docs)
	default:
		// The structure's problems are reported with the missing key.
		_, errs = sops.Redact(docs)
		r.add(&FieldError{File: file, Line: line, Field: "sops", Message: "the file is SOPS-encrypted and no age key was given: " + sops.NoKeyHint})
		for _, e := range errs {
			r.add(&FieldError{File: file, Line: e.Line, Field: e.Field, Message: e.Message})
		}
		return false
	}
	for _, e := range errs {
		r.add(&FieldError{File: file, Line: e.Line, Field: e.Field, Message: e.Message})
	}
	if len(errs) > 0 {
		return false
	}
	ok := true
	warned := map[int]bool{}
	for _, x := range values {
		if r.decryption.Keys == nil && identityFields[x.Path] {
			r.add(&FieldError{File: file, Line: x.Line, Field: x.Path, Message: "is SOPS-encrypted, so the file cannot be checked without its key: encrypt only the values (sops --encrypted-regex '^(data|stringData)$'), or give the key with --sops-age-key-file"})
			ok = false
			continue
		}
		// Only a Secret's values are masked in output; a value decrypted
		// anywhere else is shown by render and diff like any field.
		root := docs[x.Doc].Content[0]
		if !warned[x.Doc] && !(scalarAt(root, "kind") == "Secret" && (strings.HasPrefix(x.Path, "data.") || strings.HasPrefix(x.Path, "stringData."))) {
			warned[x.Doc] = true
			r.warn(&FieldError{File: file, Line: x.Line, Field: x.Path, Message: "is SOPS-encrypted outside a Secret's data or stringData: once decrypted it is shown by render, diff and get like any field; keep secret values in a Secret"})
		}
	}
	if r.encrypted == nil {
		r.encrypted = map[*yaml.Node]bool{}
	}
	for _, d := range docs {
		r.encrypted[d] = true
	}
	return ok
}

// decryptForKustomize decrypts a SOPS-encrypted YAML file a kustomization
// may read before kustomize sees it, so its transformers (namePrefix,
// namespace, labels) apply to the plaintext and the MAC is checked on
// what was committed. It returns data unchanged when the file is not
// encrypted, and nil when it cannot be read.
func (r *reporter) decryptForKustomize(file string, data []byte) []byte {
	if !bytes.Contains(data, []byte("sops")) || !isYAMLName(file) {
		return data
	}
	docs, err := splitDocuments(data)
	if err != nil || sops.Line(docs) == 0 {
		return data // kustomize reports the YAML error itself
	}
	if !r.decrypt(file, docs) {
		return nil
	}
	var buf bytes.Buffer
	for i, d := range docs {
		if i > 0 {
			buf.WriteString("---\n")
		}
		b, err := yaml.Marshal(d)
		if err != nil {
			r.add(&FieldError{File: file, Message: "cannot re-encode the decrypted file: " + err.Error()})
			return nil
		}
		buf.Write(b)
	}
	return buf.Bytes()
}

func isYAMLName(name string) bool {
	return strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")
}
