package resources

import (
	"encoding/json"
	"hash"
	"hash/fnv"
	"strconv"
)

// safeAlphabet is Kubernetes' rand.SafeEncodeString alphabet: no vowels
// (no words) and no look-alike characters.
const safeAlphabet = "bcdfghjklmnpqrstvwxz2456789"

// TemplateHash is the pod-template-hash of the Deployment, as Kubernetes
// computes it: FNV-32a of the pod template (here its canonical JSON, whose
// field and map-key order is fixed), its decimal form mapped through the
// safe alphabet. Equal templates give equal hashes across runs.
//
// The ConfigMap and Secret data the pods fix at start (env, envFrom,
// subPath; see consume.go) is part of the input, so a change of it is a
// new template and rolls the Deployment; a template that takes none
// hashes as Kubernetes' would.
func (d *Deployment) TemplateHash() string {
	h := d.templateFNV()
	for _, c := range d.consumed {
		h.Write([]byte("\x00" + c.ID() + "=" + c.Hash))
	}
	return safeEncode(strconv.FormatUint(uint64(h.Sum32()), 10))
}

// SpecHash is TemplateHash without the consumed data: equal SpecHashes
// and different TemplateHashes mean only that data changed.
func (d *Deployment) SpecHash() string {
	return safeEncode(strconv.FormatUint(uint64(d.templateFNV().Sum32()), 10))
}

func (d *Deployment) templateFNV() hash.Hash32 {
	b, err := json.Marshal(d.Spec.Template)
	if err != nil {
		// The template holds only strings, numbers and maps of them.
		panic("resources: marshal pod template: " + err.Error())
	}
	h := fnv.New32a()
	h.Write(b)
	return h
}

func safeEncode(s string) string {
	out := make([]byte, len(s))
	for i := 0; i < len(s); i++ {
		out[i] = safeAlphabet[int(s[i])%len(safeAlphabet)]
	}
	return string(out)
}
