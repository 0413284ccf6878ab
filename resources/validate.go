package resources

import (
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

var (
	dns1123LabelRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	qualifiedRE    = regexp.MustCompile(`^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`)
	ianaSvcNameRE  = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)
	hasLetterRE    = regexp.MustCompile(`[a-z]`)
)

// dns1123Label checks names that end up in host names and container names.
func dns1123Label(s string) string {
	switch {
	case len(s) > 63:
		return "must be no more than 63 characters"
	case !dns1123LabelRE.MatchString(s):
		return "must consist of lower case letters, digits and '-', and start and end with a letter or digit (a DNS-1123 label, e.g. 'my-name')"
	}
	return ""
}

func dns1123Subdomain(s string) string {
	if len(s) > 253 {
		return "must be no more than 253 characters"
	}
	for _, part := range strings.Split(s, ".") {
		if part == "" || len(part) > 63 || !dns1123LabelRE.MatchString(part) {
			return "must consist of lower case letters, digits, '-' and '.', and start and end with a letter or digit (a DNS-1123 subdomain, e.g. 'example.com')"
		}
	}
	return ""
}

// qualifiedName checks label and annotation keys: an optional DNS
// subdomain prefix and '/', then a name of up to 63 characters.
func qualifiedName(s string) string {
	prefix, name, hasPrefix := strings.Cut(s, "/")
	if !hasPrefix {
		name, prefix = prefix, ""
	} else if prefix == "" {
		return "prefix before '/' must not be empty"
	} else if msg := dns1123Subdomain(prefix); msg != "" {
		return "prefix " + msg
	}
	switch {
	case name == "":
		return "name part must not be empty"
	case len(name) > 63:
		return "name part must be no more than 63 characters"
	case !qualifiedRE.MatchString(name):
		return "name part must consist of letters, digits, '-', '_' or '.', and start and end with a letter or digit"
	}
	return ""
}

func labelValue(s string) string {
	switch {
	case s == "":
		return ""
	case len(s) > 63:
		return "must be no more than 63 characters"
	case !qualifiedRE.MatchString(s):
		return "must consist of letters, digits, '-', '_' or '.', and start and end with a letter or digit"
	}
	return ""
}

// ianaSvcName checks port names, which Services may refer to.
func ianaSvcName(s string) string {
	switch {
	case len(s) > 15:
		return "must be no more than 15 characters"
	case !ianaSvcNameRE.MatchString(s):
		return "must consist of lower case letters, digits and '-', and start and end with a letter or digit"
	case strings.Contains(s, "--"):
		return "must not contain consecutive hyphens"
	case !hasLetterRE.MatchString(s):
		return "must contain at least one letter"
	}
	return ""
}

// validateMeta checks an object's metadata; the name must be a DNS label.
func validateMeta(o obj, m *ObjectMeta, path string, namespaced bool) {
	np := fieldPath(path, "name")
	if m.Name == "" {
		o.errorf(np, "required")
	} else if msg := dns1123Label(m.Name); msg != "" {
		o.errorf(np, "invalid name %s: %s", quote(m.Name), msg)
	}
	if namespaced && m.Namespace != "" {
		if msg := dns1123Label(m.Namespace); msg != "" {
			o.errorf(fieldPath(path, "namespace"), "invalid namespace %q: %s", m.Namespace, msg)
		}
	}
	if !namespaced && m.Namespace != "" {
		o.errorf(fieldPath(path, "namespace"), "not supported by reconcile: a %s is not namespaced", o.kind)
	}
	validateLabels(o, fieldPath(path, "labels"), m.Labels)
	ap := fieldPath(path, "annotations")
	for _, k := range slices.Sorted(maps.Keys(m.Annotations)) {
		if msg := qualifiedName(k); msg != "" {
			o.errorf(keyPath(ap, k), "invalid annotation key %q: %s", k, msg)
		}
	}
}

func validateLabels(o obj, path string, labels map[string]string) {
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		if msg := qualifiedName(k); msg != "" {
			o.errorf(keyPath(path, k), "invalid label key %q: %s", k, msg)
		}
		if msg := labelValue(labels[k]); msg != "" {
			o.errorf(keyPath(path, k), "invalid label value %q: %s", labels[k], msg)
		}
	}
}

func validPort(p int32) bool { return p >= 1 && p <= 65535 }

func validProtocol(o obj, path, proto string) {
	if proto != "TCP" && proto != "UDP" {
		o.errorf(path, "unsupported value %q: supported values: \"TCP\", \"UDP\"", proto)
	}
}

// quote quotes a user's value for an error message, escaped and cut to
// MaxQuoted bytes, so an error never echoes a whole (possibly foreign or
// binary) document.
func quote(s string) string {
	if len(s) <= MaxQuoted {
		return strconv.Quote(s)
	}
	cut := MaxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "..."
}
