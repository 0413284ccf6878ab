package resources

import (
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// MaxConfigBytes is Kubernetes' limit on the data of one ConfigMap or
// Secret (1 MiB): keys and values together for a ConfigMap, values for
// a Secret.
const MaxConfigBytes = 1 << 20

var configKeyRE = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)

// configKey checks a ConfigMap or Secret key, which becomes a file name
// in a volume: Kubernetes' IsConfigMapKey.
func configKey(k string) string {
	switch {
	case len(k) > 253:
		return "must be no more than 253 characters"
	case !configKeyRE.MatchString(k):
		return "must consist of letters, digits, '-', '_' or '.'"
	case k == "." || k == "..":
		return "must not be '.' or '..'"
	case strings.HasPrefix(k, ".."):
		return "must not start with '..'"
	}
	return ""
}

func validateConfigMap(r *reporter, c *ConfigMap) {
	o := r.object(c.Source, "ConfigMap", c.Name)
	validateMeta(o, &c.ObjectMeta, "metadata", true)
	size := 0
	for _, k := range slices.Sorted(maps.Keys(c.Data)) {
		if msg := configKey(k); msg != "" {
			o.errorf(keyPath("data", k), "invalid key %s: %s", quote(k), msg)
		}
		size += len(k) + len(c.Data[k])
	}
	for _, k := range slices.Sorted(maps.Keys(c.BinaryData)) {
		if msg := configKey(k); msg != "" {
			o.errorf(keyPath("binaryData", k), "invalid key %s: %s", quote(k), msg)
		}
		if _, dup := c.Data[k]; dup {
			o.errorf(keyPath("binaryData", k), "duplicate of key %s in data", quote(k))
		}
		size += len(k) + len(c.BinaryData[k])
	}
	if size > MaxConfigBytes {
		o.errorf("", "holds %d bytes of data, more than Kubernetes' limit of %d bytes (1 MiB) per ConfigMap: split it, or mount a hostPath", size, MaxConfigBytes)
	}
}

// secretRequiredKeys are the keys a typed Secret must hold, as the API
// server checks them.
var secretRequiredKeys = map[string][]string{
	SecretTypeTLS:              {"tls.crt", "tls.key"},
	SecretTypeDockerConfigJSON: {".dockerconfigjson"},
	SecretTypeSSHAuth:          {"ssh-privatekey"},
}

func validateSecret(r *reporter, s *Secret, stringKeys []string) {
	o := r.object(s.Source, "Secret", s.Name)
	validateMeta(o, &s.ObjectMeta, "metadata", true)
	// Keys are checked where they were written; stringData was merged
	// into Data by Default.
	inString := map[string]bool{}
	for _, k := range stringKeys {
		inString[k] = true
	}
	size := 0
	for _, k := range slices.Sorted(maps.Keys(s.Data)) {
		field := "data"
		if inString[k] {
			field = "stringData"
		}
		if msg := configKey(k); msg != "" {
			o.errorf(keyPath(field, k), "invalid key %s: %s", quote(k), msg)
		}
		size += len(s.Data[k])
	}
	if size > MaxConfigBytes {
		o.errorf("", "holds %d bytes of data, more than Kubernetes' limit of %d bytes (1 MiB) per Secret", size, MaxConfigBytes)
	}
	for _, k := range secretRequiredKeys[s.Type] {
		if _, ok := s.Data[k]; !ok {
			o.errorf("type", "a %s Secret must hold the key %s in data or stringData", s.Type, quote(k))
		}
	}
	switch s.Type {
	case SecretTypeDockerConfigJSON:
		// Without the key (validate) an encrypted value is a placeholder:
		// the structure is checked, the value cannot be.
		redacted := s.Source.Encrypted && r.decryption.Keys == nil
		if b, ok := s.Data[".dockerconfigjson"]; ok && !redacted && !json.Valid(b) {
			o.errorf(keyPath(fieldOf(inString, ".dockerconfigjson"), ".dockerconfigjson"), "is not valid JSON (a Docker config.json with \"auths\")")
		}
	case SecretTypeBasicAuth:
		_, u := s.Data["username"]
		_, p := s.Data["password"]
		if !u && !p {
			o.errorf("type", "a %s Secret must hold the key \"username\" or \"password\"", s.Type)
		}
	}
	if s.Plaintext {
		o.warnf("data", "holds its values in plain text: anyone who can read the repository can read them; encrypt the Secret with SOPS (sops --encrypt --age <recipient> --encrypted-regex '^(data|stringData)$') and give reconcile --sops-age-key-file")
	}
}

func fieldOf(inString map[string]bool, k string) string {
	if inString[k] {
		return "stringData"
	}
	return "data"
}

func validateNamespace(r *reporter, n *Namespace) {
	o := r.object(n.Source, "Namespace", n.Name)
	validateMeta(o, &n.ObjectMeta, "metadata", false)
}
