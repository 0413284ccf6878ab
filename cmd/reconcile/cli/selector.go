package cli

import (
	"fmt"
	"strings"

	"github.com/reconcile-dev/reconcile/resources"
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

// matches evaluates the terms as the resources package's LabelSelector,
// the one matcher for manifests and -l alike: = is In (value), != is
// NotIn (value), and the bare key forms are Exists and DoesNotExist.
func (sel labelSelector) matches(labels map[string]string) bool {
	ls := &resources.LabelSelector{}
	for _, t := range sel {
		r := resources.LabelSelectorRequirement{Key: t.key}
		switch t.op {
		case "=":
			r.Operator, r.Values = "In", []string{t.value}
		case "!=":
			r.Operator, r.Values = "NotIn", []string{t.value}
		case "exists":
			r.Operator = "Exists"
		case "!exists":
			r.Operator = "DoesNotExist"
		}
		ls.MatchExpressions = append(ls.MatchExpressions, r)
	}
	return ls.Matches(labels)
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
