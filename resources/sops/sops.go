// Package sops decrypts YAML manifests encrypted by SOPS with age
// recipients. It implements the SOPS file format itself (AES-256-GCM
// values keyed by their path, a SHA-512 MAC over the values, the data key
// age-encrypted to each recipient) on top of filippo.io/age, rather than
// importing github.com/getsops/sops/v3, whose KMS/Vault/GCP/Azure clients
// would ship to every host inside the reconcile binary.
package sops

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"
	"filippo.io/age/armor"
	"go.yaml.in/yaml/v3"
)

// ErrNoKey is returned when a file is encrypted and no age key was given.
var ErrNoKey = errors.New("is SOPS-encrypted and no age key was given: set --sops-age-key-file FILE or SOPS_AGE_KEY_FILE")

// ErrWrongKey is returned when no given age key opens the file's data key.
var ErrWrongKey = errors.New("is SOPS-encrypted for age recipients none of the given keys matches: check --sops-age-key-file / SOPS_AGE_KEY_FILE")

// ErrMAC is returned when the values do not match the file's MAC: the
// file was changed after it was encrypted.
var ErrMAC = errors.New("SOPS MAC mismatch: the file was changed after encryption; re-encrypt it with sops")

var encRE = regexp.MustCompile(`^ENC\[AES256_GCM,data:(.*),iv:(.+),tag:(.+),type:(.+)\]$`)

// metadata is the part of the top-level sops: map this package uses.
type metadata struct {
	Age []struct {
		Recipient string `yaml:"recipient"`
		Enc       string `yaml:"enc"`
	} `yaml:"age"`
	LastModified      string `yaml:"lastmodified"`
	MAC               string `yaml:"mac"`
	UnencryptedSuffix string `yaml:"unencrypted_suffix"`
	EncryptedSuffix   string `yaml:"encrypted_suffix"`
	UnencryptedRegex  string `yaml:"unencrypted_regex"`
	EncryptedRegex    string `yaml:"encrypted_regex"`
	MACOnlyEncrypted  bool   `yaml:"mac_only_encrypted"`
}

// IsEncrypted says whether a document's top-level map has a sops: key.
func IsEncrypted(doc *yaml.Node) bool {
	return sopsNode(doc) != nil
}

func sopsNode(doc *yaml.Node) *yaml.Node {
	root := doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "sops" {
			return root.Content[i+1]
		}
	}
	return nil
}

func removeSops(doc *yaml.Node) {
	root := doc
	if root.Kind == yaml.DocumentNode {
		root = root.Content[0]
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "sops" {
			root.Content = append(root.Content[:i], root.Content[i+2:]...)
			return
		}
	}
}

// ParseIdentities reads age identities from keyFile, or else from the
// SOPS_AGE_KEY_FILE and SOPS_AGE_KEY environment values passed in.
// It returns nil, nil when none is configured.
func ParseIdentities(keyFile, envFile, envKey string) ([]age.Identity, error) {
	if keyFile == "" {
		keyFile = envFile
	}
	var text string
	switch {
	case keyFile != "":
		b, err := readLimited(keyFile)
		if err != nil {
			return nil, fmt.Errorf("age key file: %w", err)
		}
		text = string(b)
	case envKey != "":
		text = envKey
	default:
		return nil, nil
	}
	ids, err := age.ParseIdentities(strings.NewReader(text))
	if err != nil {
		// age's messages do not echo the key material.
		return nil, fmt.Errorf("age key: %v", err)
	}
	return ids, nil
}

// Decrypt decrypts the documents of one SOPS file in place and removes
// their sops: maps. The MAC covers every document of the file, as SOPS
// computes it. Nothing is changed when it fails.
func Decrypt(docs []*yaml.Node, ids []age.Identity) error {
	var md *metadata
	for _, d := range docs {
		if n := sopsNode(d); n != nil {
			md = &metadata{}
			if err := n.Decode(md); err != nil {
				return fmt.Errorf("malformed sops metadata: %v", err)
			}
			break
		}
	}
	if md == nil {
		return errors.New("no sops metadata")
	}
	if err := md.check(); err != nil {
		return err
	}
	if len(ids) == 0 {
		return ErrNoKey
	}
	key, err := md.dataKey(ids)
	if err != nil {
		return err
	}
	clones := make([]*yaml.Node, len(docs))
	h := sha512.New()
	for i, d := range docs {
		clones[i] = deepCopy(d)
		removeSops(clones[i])
		root := clones[i]
		if root.Kind == yaml.DocumentNode {
			root = root.Content[0]
		}
		if err := md.walk(root, nil, key, h); err != nil {
			return err
		}
	}
	mac, err := decryptValue(md.MAC, key, md.macAAD())
	if err != nil {
		return fmt.Errorf("sops MAC: %w", err)
	}
	if !strings.EqualFold(mac, fmt.Sprintf("%X", h.Sum(nil))) {
		return ErrMAC
	}
	for i, d := range docs {
		*d = *clones[i]
	}
	return nil
}

// Check verifies a SOPS file's structure without a key: the metadata is
// well formed and every value SOPS would encrypt is an ENC[...] value.
func Check(docs []*yaml.Node) error {
	var md *metadata
	for _, d := range docs {
		if n := sopsNode(d); n != nil {
			md = &metadata{}
			if err := n.Decode(md); err != nil {
				return fmt.Errorf("malformed sops metadata: %v", err)
			}
			break
		}
	}
	if md == nil {
		return errors.New("no sops metadata")
	}
	return md.check()
}

func (m *metadata) check() error {
	if len(m.Age) == 0 {
		return errors.New("sops metadata has no age recipients: reconcile decrypts only age-encrypted files (sops --age)")
	}
	if m.MAC == "" {
		return errors.New("sops metadata has no mac")
	}
	if !encRE.MatchString(m.MAC) {
		return errors.New("sops mac is not an ENC[AES256_GCM,...] value")
	}
	if _, err := time.Parse(time.RFC3339, m.LastModified); err != nil {
		return errors.New("sops lastmodified is not an RFC 3339 time")
	}
	for _, re := range []string{m.EncryptedRegex, m.UnencryptedRegex} {
		if _, err := regexp.Compile(re); err != nil {
			return fmt.Errorf("sops regex %q: %v", re, err)
		}
	}
	return nil
}

// macAAD is what SOPS authenticates the MAC with: lastmodified
// re-formatted as RFC 3339.
func (m *metadata) macAAD() string {
	t, _ := time.Parse(time.RFC3339, m.LastModified)
	return t.Format(time.RFC3339)
}

func (m *metadata) dataKey(ids []age.Identity) ([]byte, error) {
	for _, r := range m.Age {
		rd, err := age.Decrypt(armor.NewReader(strings.NewReader(r.Enc)), ids...)
		if err != nil {
			continue
		}
		key, err := io.ReadAll(io.LimitReader(rd, 64))
		if err == nil && len(key) == 32 {
			return key, nil
		}
	}
	return nil, ErrWrongKey
}

// encrypted is SOPS' rule for whether the value at path is encrypted.
func (m *metadata) encrypted(path []string) bool {
	enc := true
	if m.UnencryptedSuffix != "" {
		for _, p := range path {
			if strings.HasSuffix(p, m.UnencryptedSuffix) {
				enc = false
				break
			}
		}
	}
	if m.EncryptedSuffix != "" {
		enc = false
		for _, p := range path {
			if strings.HasSuffix(p, m.EncryptedSuffix) {
				enc = true
				break
			}
		}
	}
	if m.UnencryptedRegex != "" {
		re := regexp.MustCompile(m.UnencryptedRegex)
		for _, p := range path {
			if re.MatchString(p) {
				enc = false
				break
			}
		}
	}
	if m.EncryptedRegex != "" {
		re := regexp.MustCompile(m.EncryptedRegex)
		enc = false
		for _, p := range path {
			if re.MatchString(p) {
				enc = true
				break
			}
		}
	}
	return enc
}

// walk visits the leaves in document order, as SOPS' tree walk does:
// sequence items keep their parent's path; null leaves are skipped.
func (m *metadata) walk(n *yaml.Node, path []string, key []byte, h io.Writer) error {
	n.HeadComment, n.LineComment, n.FootComment = "", "", ""
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			n.Content[i].HeadComment, n.Content[i].LineComment, n.Content[i].FootComment = "", "", ""
			p := append(append([]string(nil), path...), n.Content[i].Value)
			if err := m.walk(n.Content[i+1], p, key, h); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			if err := m.walk(c, path, key, h); err != nil {
				return err
			}
		}
	case yaml.AliasNode:
		return errors.New("YAML aliases are not supported in SOPS files")
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return nil
		}
		enc := m.encrypted(path)
		if enc {
			typ, plain, err := decryptTyped(n.Value, key, strings.Join(path, ":")+":")
			if err != nil {
				return fmt.Errorf("%s: %w", strings.Join(path, "."), err)
			}
			n.Value, n.Tag, n.Style = plain, typ, 0
			if typ == "!!str" {
				n.Style = yaml.DoubleQuotedStyle
			}
		}
		if !m.MACOnlyEncrypted || enc {
			io.WriteString(h, macBytes(n))
		}
	}
	return nil
}

// macBytes is SOPS' ToBytes of a scalar as yaml.v3 decodes it.
func macBytes(n *yaml.Node) string {
	switch n.ShortTag() {
	case "!!int":
		if v, err := strconv.ParseInt(n.Value, 0, 64); err == nil {
			return strconv.FormatInt(v, 10)
		}
	case "!!float":
		if v, err := strconv.ParseFloat(n.Value, 64); err == nil {
			return strconv.FormatFloat(v, 'f', -1, 64)
		}
	case "!!bool":
		var b bool
		if n.Decode(&b) == nil {
			if b {
				return "True"
			}
			return "False"
		}
	}
	return n.Value
}

func decryptValue(s string, key []byte, aad string) (string, error) {
	_, v, err := decryptTyped(s, key, aad)
	return v, err
}

// decryptTyped opens one ENC[AES256_GCM,...] value; the empty string is
// left empty, as SOPS does not encrypt it.
func decryptTyped(s string, key []byte, aad string) (tag, plain string, err error) {
	if s == "" {
		return "!!str", "", nil
	}
	m := encRE.FindStringSubmatch(s)
	if m == nil {
		return "", "", errors.New("value is not SOPS-encrypted (ENC[AES256_GCM,...]) though the file's sops rules say it should be")
	}
	var parts [3][]byte
	for i := range 3 {
		if parts[i], err = base64.StdEncoding.DecodeString(m[i+1]); err != nil {
			return "", "", errors.New("malformed ENC[...] value")
		}
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", "", err
	}
	if len(parts[1]) == 0 {
		return "", "", errors.New("malformed ENC[...] value")
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, len(parts[1]))
	if err != nil {
		return "", "", err
	}
	out, err := gcm.Open(nil, parts[1], append(parts[0], parts[2]...), []byte(aad))
	if err != nil {
		return "", "", ErrMAC
	}
	switch m[4] {
	case "str", "bytes", "comment":
		return "!!str", string(out), nil
	case "int":
		return "!!int", string(out), nil
	case "float":
		return "!!float", string(out), nil
	case "bool":
		return "!!bool", string(out), nil
	}
	return "", "", fmt.Errorf("unknown ENC[...] type %q", m[4])
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

func readLimited(p string) ([]byte, error) {
	f, err := openFile(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 1<<20+1))
	if err != nil {
		return nil, err
	}
	if len(b) > 1<<20 {
		return nil, errors.New("larger than 1 MiB")
	}
	return b, nil
}
