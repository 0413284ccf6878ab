package resources

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"strings"
)

// Immutable ConfigMaps and Secrets, as Kubernetes enforces them: once an
// object with immutable: true is on the hosts, its data may not change
// and immutable may not be unset; it can only be deleted and created
// again, or replaced by one of another name. reconcile keeps no state of
// its own: a pod records the immutable objects it uses with a digest of
// their data (ImmutableRecord), and the next run compares the manifests
// with what the pods on the hosts recorded (CheckImmutable) before
// anything changes.

// ImmutableMessage is the refusal, as the field error's message.
const ImmutableMessage = "field is immutable; delete and recreate, or change its name"

// ImmutableRecord is "Kind/name=digest" for each immutable ConfigMap and
// Secret a pod of d uses (volumes, env, envFrom), joined by ",": the form
// a pod records (runtime.LabelImmutable). Empty when it uses none.
func (s *Set) ImmutableRecord(d *Deployment) string {
	var parts []string
	for _, id := range s.usedObjects(d) {
		kind, name, _ := strings.Cut(id, "/")
		data, immutable, ok := s.configObject(d.Namespace, kind, name)
		if ok && immutable {
			parts = append(parts, id+"="+dataDigest(data, slices.Sorted(maps.Keys(data))))
		}
	}
	return strings.Join(parts, ",")
}

// CheckImmutable refuses, with the manifest's file and line, a change
// of an immutable object the hosts hold: recorded maps a namespace to
// "Kind/name" to the digests its pods recorded (one each). An object no
// longer declared is being deleted, which is allowed.
func (s *Set) CheckImmutable(recorded map[string]map[string][]string) error {
	var errs ErrorList
	for _, ns := range slices.Sorted(maps.Keys(recorded)) {
		for _, id := range slices.Sorted(maps.Keys(recorded[ns])) {
			kind, name, _ := strings.Cut(id, "/")
			data, immutable, ok := s.configObject(ns, kind, name)
			if !ok {
				continue
			}
			o := obj{src: s.configSource(ns, kind, name), kind: kind, name: name}
			switch {
			case !immutable:
				errs = append(errs, o.fieldError("immutable", "the hosts hold it immutable: "+ImmutableMessage))
			case slices.ContainsFunc(recorded[ns][id], func(h string) bool { return h != dataDigest(data, slices.Sorted(maps.Keys(data))) }):
				field := "data"
				if src := o.src; src.lineOf("data") == src.lineOf("") && src.lineOf("stringData") != src.lineOf("") {
					field = "stringData" // a Secret with only stringData: the line to go to
				}
				errs = append(errs, o.fieldError(field, "the hosts hold other data: "+ImmutableMessage))
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	sortErrors(errs)
	return errs
}

// ParseImmutableRecord reads ImmutableRecord's form back.
func ParseImmutableRecord(s string) map[string]string { return ParseConfigHashes(s) }

// usedObjects are the "Kind/name" of every ConfigMap and Secret d's pods
// refer to, sorted.
func (s *Set) usedObjects(d *Deployment) []string {
	used := map[string]bool{}
	spec := &d.Spec.Template.Spec
	for i := range spec.Volumes {
		for _, src := range volumeSources(&spec.Volumes[i]) {
			used[src.kind+"/"+src.name] = true
		}
	}
	for _, cs := range [][]Container{spec.InitContainers, spec.Containers} {
		for _, c := range cs {
			for _, e := range c.Env {
				if e.ValueFrom == nil {
					continue
				}
				if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
					used[KindConfigMap+"/"+r.Name] = true
				}
				if r := e.ValueFrom.SecretKeyRef; r != nil {
					used[KindSecret+"/"+r.Name] = true
				}
			}
			for _, ef := range c.EnvFrom {
				if ef.ConfigMapRef != nil {
					used[KindConfigMap+"/"+ef.ConfigMapRef.Name] = true
				}
				if ef.SecretRef != nil {
					used[KindSecret+"/"+ef.SecretRef.Name] = true
				}
			}
		}
	}
	return slices.Sorted(maps.Keys(used))
}

// configObject is a declared object's data and whether it is immutable.
func (s *Set) configObject(ns, kind, name string) (data map[string][]byte, immutable, ok bool) {
	if kind == KindSecret {
		if sec := s.SecretNamed(ns, name); sec != nil {
			return sec.Data, isTrue(sec.Immutable), true
		}
		return nil, false, false
	}
	if cm := s.ConfigMapNamed(ns, name); cm != nil {
		return cm.Values(), isTrue(cm.Immutable), true
	}
	return nil, false, false
}

func (s *Set) configSource(ns, kind, name string) Source {
	if kind == KindSecret {
		return s.SecretNamed(ns, name).Source
	}
	return s.ConfigMapNamed(ns, name).Source
}

// dataDigest is a short digest of data's keys (missing ones marked),
// with their values; the one digest of ConfigMap/Secret data pods record.
func dataDigest(data map[string][]byte, keys []string) string {
	h := sha256.New()
	for _, k := range keys {
		v, ok := data[k]
		h.Write([]byte(k))
		if !ok {
			h.Write([]byte{1})
			continue
		}
		h.Write([]byte{0})
		h.Write([]byte(itoa(len(v))))
		h.Write([]byte{0})
		h.Write(v)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}
