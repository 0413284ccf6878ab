package resources

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Masking is decided here only: reconcile never prints a Secret's
// values, in render, plans, errors or JSON. A Secret is shown by its
// keys, each value replaced by Redacted, as Argo CD masks them.
const Redacted = "<redacted>"

const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// MaskedSecret is what output shows of a Secret: its metadata, type and
// keys, never a value.
type MaskedSecret struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Type       string            `json:"type,omitempty"`
	Data       map[string]string `json:"data,omitempty"`
	Immutable  *bool             `json:"immutable,omitempty"`
}

// Masked returns the Secret as output may show it.
func (s *Secret) Masked() MaskedSecret {
	m := MaskedSecret{TypeMeta: s.TypeMeta, ObjectMeta: s.ObjectMeta, Type: s.Type, Immutable: s.Immutable}
	// kubectl apply's record of the last manifest holds the values.
	if _, ok := s.Annotations[lastApplied]; ok {
		m.Annotations = maps.Clone(s.Annotations)
		delete(m.Annotations, lastApplied)
	}
	if len(s.Data) > 0 {
		m.Data = make(map[string]string, len(s.Data))
		for k := range s.Data {
			m.Data[k] = Redacted
		}
	}
	return m
}

// SecretChange summarizes a Secret's change without its values:
// "3 keys, 1 changed (tls.key)".
func SecretChange(old, new map[string][]byte) string {
	var changed []string
	for k, v := range new {
		if o, ok := old[k]; !ok || string(o) != string(v) {
			changed = append(changed, k)
		}
	}
	for k := range old {
		if _, ok := new[k]; !ok {
			changed = append(changed, k)
		}
	}
	slices.Sort(changed)
	return KeysChanged(len(new), changed)
}

// maxKeyNames is how many changed key names a summary lists.
const maxKeyNames = 5

// KeysChanged is the one wording of a masked change, as Argo CD shows
// one: the keys counted and the changed ones named, never a value
// ("3 keys, 1 changed (nginx.conf)"). A plan learns from the hosts which
// of a volume's files differ, never their values.
func KeysChanged(keys int, changed []string) string {
	s := fmt.Sprintf("%d %s, %d changed", keys, plural(keys, "key", "keys"), len(changed))
	if len(changed) == 0 {
		return s
	}
	names := changed
	more := ""
	if len(names) > maxKeyNames {
		names, more = names[:maxKeyNames], fmt.Sprintf(" and %d more", len(changed)-maxKeyNames)
	}
	return s + " (" + strings.Join(names, ", ") + more + ")"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// SecretsDigest stands for every Secret's data in a local tree's
// revision (which Render, masking them, cannot).
func (s *Set) SecretsDigest() string {
	h := sha256.New()
	for _, sec := range s.Secrets {
		h.Write([]byte(sec.Namespace + "/" + sec.Name + "\x00"))
		for _, k := range slices.Sorted(maps.Keys(sec.Data)) {
			fmt.Fprintf(h, "%s\x00%d\x00", k, len(sec.Data[k]))
			h.Write(sec.Data[k])
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
