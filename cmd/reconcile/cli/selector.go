package cli

import (
	"fmt"
	"strings"
)

// labelSelector is kubectl's equality-based -l syntax: a=b, a==b, a!=b, a, !a,
// joined by commas; every term must hold.
type labelSelector []selectorTerm

type selectorTerm struct {
	key, value string
	op         string // =, !=, exists, !exists
}

func parseSelector(s string) (labelSelector, error) {
	var sel labelSelector
	if strings.TrimSpace(s) == "" {
		return sel, nil
	}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		var t selectorTerm
		switch {
		case strings.Contains(part, "!="):
			k, v, _ := strings.Cut(part, "!=")
			t = selectorTerm{strings.TrimSpace(k), strings.TrimSpace(v), "!="}
		case strings.Contains(part, "=="):
			k, v, _ := strings.Cut(part, "==")
			t = selectorTerm{strings.TrimSpace(k), strings.TrimSpace(v), "="}
		case strings.Contains(part, "="):
			k, v, _ := strings.Cut(part, "=")
			t = selectorTerm{strings.TrimSpace(k), strings.TrimSpace(v), "="}
		case strings.HasPrefix(part, "!"):
			t = selectorTerm{key: strings.TrimSpace(part[1:]), op: "!exists"}
		default:
			t = selectorTerm{key: part, op: "exists"}
		}
		if t.key == "" || strings.ContainsAny(t.key, " ()") {
			return nil, flagErrorf("invalid label selector %q: use key=value, key!=value, key or !key, joined by commas", s)
		}
		sel = append(sel, t)
	}
	return sel, nil
}

func (sel labelSelector) matches(labels map[string]string) bool {
	for _, t := range sel {
		v, ok := labels[t.key]
		switch t.op {
		case "=":
			if !ok || v != t.value {
				return false
			}
		case "!=":
			if ok && v == t.value {
				return false
			}
		case "exists":
			if !ok {
				return false
			}
		case "!exists":
			if ok {
				return false
			}
		}
	}
	return true
}

func (sel labelSelector) String() string {
	var parts []string
	for _, t := range sel {
		switch t.op {
		case "exists":
			parts = append(parts, t.key)
		case "!exists":
			parts = append(parts, "!"+t.key)
		default:
			parts = append(parts, fmt.Sprintf("%s%s%s", t.key, t.op, t.value))
		}
	}
	return strings.Join(parts, ",")
}
