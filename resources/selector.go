package resources

import (
	"slices"
	"sort"
	"strings"
)

// Matches reports whether labels satisfy every matchLabels entry and every
// matchExpressions requirement. A nil selector matches nothing, as in
// Kubernetes; an empty one matches everything.
func (s *LabelSelector) Matches(labels map[string]string) bool {
	if s == nil || !hasLabels(s.MatchLabels, labels) {
		return false
	}
	for _, r := range s.MatchExpressions {
		v, ok := labels[r.Key]
		switch r.Operator {
		case "In":
			if !ok || !slices.Contains(r.Values, v) {
				return false
			}
		case "NotIn":
			if ok && slices.Contains(r.Values, v) {
				return false
			}
		case "Exists":
			if !ok {
				return false
			}
		case "DoesNotExist":
			if ok {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// String is the selector as kubectl prints it and accepts with -l:
// "run=my-nginx", "tier in (backend,cache),!canary", sorted by key.
func (s *LabelSelector) String() string {
	if s == nil {
		return ""
	}
	type req struct{ key, text string }
	var reqs []req
	for k, v := range s.MatchLabels {
		reqs = append(reqs, req{k, k + "=" + v})
	}
	for _, r := range s.MatchExpressions {
		vals := slices.Clone(r.Values)
		sort.Strings(vals)
		var text string
		switch r.Operator {
		case "In":
			text = r.Key + " in (" + strings.Join(vals, ",") + ")"
		case "NotIn":
			text = r.Key + " notin (" + strings.Join(vals, ",") + ")"
		case "Exists":
			text = r.Key
		case "DoesNotExist":
			text = "!" + r.Key
		default:
			continue
		}
		reqs = append(reqs, req{r.Key, text})
	}
	sort.SliceStable(reqs, func(i, j int) bool { return reqs[i].key < reqs[j].key })
	texts := make([]string, len(reqs))
	for i, r := range reqs {
		texts[i] = r.text
	}
	return strings.Join(texts, ",")
}

// ServiceSelects reports whether a Service selector (plain labels)
// selects pods with the given labels. An empty one selects nothing here
// because reconcile manages endpoints only for selected pods.
func ServiceSelects(sel, labels map[string]string) bool {
	return len(sel) > 0 && hasLabels(sel, labels)
}

// hasLabels reports whether labels hold every key of want with its value:
// the equality part of every selector, the one place it is written.
func hasLabels(want, labels map[string]string) bool {
	for k, v := range want {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}
