package sops

import (
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"
	"filippo.io/age/armor"
	"go.yaml.in/yaml/v3"
)

// defaultUnencryptedSuffix is sops' rule when a file names none.
const defaultUnencryptedSuffix = "_unencrypted"

// maxRecipients bounds the age stanzas tried per file.
const maxRecipients = 64

type recipient struct {
	name string // age1... public key
	enc  string // armored age file holding the data key
	line int
}

// metadata is what this package reads of a file's sops: map.
type metadata struct {
	line                int // of the sops: key
	age                 []recipient
	others              []string // names of non-age key types present (kms, pgp, ...)
	mac                 string
	macLine             int
	lastModifiedRFC3339 string
	unencryptedSuffix   string
	encryptedSuffix     string
	unencryptedRegex    *regexp.Regexp
	encryptedRegex      *regexp.Regexp
	macOnlyEncrypted    bool
}

func parseMetadata(docs []*yaml.Node) (*metadata, []*Error) {
	k, v := topLevel(docs[0], "sops")
	if k == nil {
		line := Line(docs)
		return nil, []*Error{formatErr(line, "sops", "the sops metadata must be in the file's first document, where sops writes it")}
	}
	for _, d := range docs[1:] {
		if k2, v2 := topLevel(d, "sops"); k2 != nil && v2.Kind != yaml.MappingNode {
			return nil, []*Error{formatErr(k2.Line, "sops", "is not a map")}
		}
	}
	md := &metadata{line: k.Line}
	var errs []*Error
	bad := func(n *yaml.Node, field, format string, args ...any) {
		errs = append(errs, formatErr(n.Line, "sops."+field, format, args...))
	}
	if v.Kind != yaml.MappingNode {
		return nil, []*Error{formatErr(k.Line, "sops", "is not a map: this is not a file sops encrypted")}
	}
	rules := 0
	str := func(field string, n *yaml.Node) string {
		if n.Kind != yaml.ScalarNode {
			bad(n, field, "must be a string")
			return ""
		}
		return n.Value
	}
	regex := func(field string, n *yaml.Node) *regexp.Regexp {
		s := str(field, n)
		if s == "" {
			return nil
		}
		re, err := regexp.Compile(s)
		if err != nil {
			bad(n, field, "is not a regular expression: %v", err)
			return nil
		}
		rules++
		return re
	}
	var macNode, lmNode *yaml.Node
	for i := 0; i+1 < len(v.Content); i += 2 {
		key, val := v.Content[i], v.Content[i+1]
		switch key.Value {
		case "age":
			md.age = append(md.age, parseAge(val, "age", bad)...)
		case "key_groups":
			if val.Kind != yaml.SequenceNode {
				bad(val, "key_groups", "must be a list")
				continue
			}
			if len(val.Content) > 1 {
				bad(val, "key_groups", "has %d key groups (Shamir secret sharing): reconcile decrypts files with one key group or plain age recipients; re-encrypt without --shamir-secret-sharing-threshold", len(val.Content))
				continue
			}
			for _, g := range val.Content {
				if _, a := mapValue(g, "age"); a != nil {
					md.age = append(md.age, parseAge(a, "key_groups.age", bad)...)
				}
			}
		case "shamir_threshold":
			if n, err := strconv.Atoi(val.Value); err != nil || n > 1 {
				bad(val, "shamir_threshold", "is %s: reconcile does not decrypt Shamir-shared data keys; re-encrypt with age recipients only", val.Value)
			}
		case "lastmodified":
			lmNode = val
		case "mac":
			macNode = val
		case "unencrypted_suffix":
			if md.unencryptedSuffix = str(key.Value, val); md.unencryptedSuffix != "" {
				rules++
			}
		case "encrypted_suffix":
			if md.encryptedSuffix = str(key.Value, val); md.encryptedSuffix != "" {
				rules++
			}
		case "unencrypted_regex":
			md.unencryptedRegex = regex(key.Value, val)
		case "encrypted_regex":
			md.encryptedRegex = regex(key.Value, val)
		case "unencrypted_comment_regex", "encrypted_comment_regex":
			if val.Value != "" {
				bad(val, key.Value, "is not supported by reconcile: encrypt Secrets with --encrypted-regex '^(data|stringData)$' instead")
			}
		case "mac_only_encrypted":
			b, err := strconv.ParseBool(val.Value)
			if err != nil {
				bad(val, key.Value, "must be true or false")
			}
			md.macOnlyEncrypted = b
		case "kms", "gcp_kms", "hckms", "azure_kv", "hc_vault", "pgp":
			if val.Kind == yaml.SequenceNode && len(val.Content) > 0 {
				md.others = append(md.others, key.Value)
			}
		}
	}
	if rules > 1 {
		errs = append(errs, formatErr(v.Line, "sops", "names more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex and unencrypted_regex, which sops does not allow"))
	}
	if rules == 0 {
		md.unencryptedSuffix = defaultUnencryptedSuffix
	}
	if len(md.age) == 0 {
		msg := "has no age recipients: reconcile decrypts files encrypted with sops --age"
		if len(md.others) > 0 {
			msg += "; this one is encrypted for " + strings.Join(md.others, ", ") + " only: add an age recipient (sops updatekeys, or sops -r -i --add-age)"
		}
		errs = append(errs, formatErr(k.Line, "sops", "%s", msg))
	}
	if len(md.age) > maxRecipients {
		errs = append(errs, formatErr(k.Line, "sops.age", "has %d recipients, more than the %d reconcile tries", len(md.age), maxRecipients))
	}
	switch {
	case macNode == nil:
		errs = append(errs, formatErr(k.Line, "sops.mac", "is missing: this is not a complete sops file"))
	case macNode.Kind != yaml.ScalarNode || !encRE.MatchString(macNode.Value):
		bad(macNode, "mac", "is not an ENC[AES256_GCM,...] value")
	default:
		md.mac, md.macLine = macNode.Value, macNode.Line
	}
	switch {
	case lmNode == nil:
		errs = append(errs, formatErr(k.Line, "sops.lastmodified", "is missing: this is not a complete sops file"))
	default:
		t, err := time.Parse(time.RFC3339, lmNode.Value)
		if err != nil {
			bad(lmNode, "lastmodified", "is not an RFC 3339 time")
		}
		md.lastModifiedRFC3339 = t.Format(time.RFC3339)
	}
	return md, errs
}

func parseAge(n *yaml.Node, field string, bad func(*yaml.Node, string, string, ...any)) []recipient {
	if n.Kind != yaml.SequenceNode {
		bad(n, field, "must be a list of recipients")
		return nil
	}
	var out []recipient
	for _, e := range n.Content {
		_, r := mapValue(e, "recipient")
		_, enc := mapValue(e, "enc")
		if r == nil || enc == nil || r.Kind != yaml.ScalarNode || enc.Kind != yaml.ScalarNode || !strings.Contains(enc.Value, "BEGIN AGE ENCRYPTED FILE") {
			bad(e, field, "each entry needs a recipient and an enc (an armored age file)")
			continue
		}
		out = append(out, recipient{name: r.Value, enc: enc.Value, line: e.Line})
	}
	return out
}

func mapValue(m *yaml.Node, key string) (k, v *yaml.Node) {
	if m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

// dataKey opens the 32-byte data key with one of the keys.
func (m *metadata) dataKey(keys *Keys) ([]byte, *Error) {
	names := make([]string, 0, len(m.age))
	for _, r := range m.age {
		names = append(names, r.name)
		if len(r.enc) > 64<<10 {
			continue
		}
		rd, err := age.Decrypt(armor.NewReader(strings.NewReader(r.enc)), keys.ids...)
		if err != nil {
			continue
		}
		key, err := io.ReadAll(io.LimitReader(rd, 33))
		if err == nil && len(key) == 32 {
			return key, nil
		}
	}
	return nil, &Error{Line: m.line, Field: "sops.age", Err: ErrWrongKey,
		Message: "no key in " + keys.source + " opens the file's data key; it is encrypted for " + strings.Join(names, ", ") + ": use the age key of one of these recipients"}
}
