package resources

import "go.yaml.in/yaml/v3"

// TypeMeta identifies the kind of a document.
type TypeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

// ObjectMeta is the subset of Kubernetes metadata reconcile understands.
type ObjectMeta struct {
	Name        string            `json:"name,omitempty"`
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Source records where an object was declared, for error messages.
// It is not part of the object's serialized form.
type Source struct {
	File string // path relative to the tree root
	Line int    // 1-based line where the document starts; 0 when unknown

	// doc is the parsed YAML document, kept so errors found after decoding
	// can still point at the line of the offending field.
	doc *yaml.Node
	// rendered marks an object a kustomization rendered: File is the
	// kustomization file, and there is no line to point at.
	rendered bool
	// Encrypted marks an object decoded from a SOPS-encrypted file
	// (decrypt.go): its values were decrypted on this machine, or, when
	// loaded without a key (validate), replaced by empty ones.
	Encrypted bool
}

func (s Source) String() string {
	if s.Line > 0 {
		return s.File + ":" + itoa(s.Line)
	}
	return s.File
}

// Set is a whole desired state: everything one tree declares.
type Set struct {
	Deployments []*Deployment // sorted by namespace/name; DaemonSets' workloads included (Deployment.DaemonSet set)
	DaemonSets  []*DaemonSet  // sorted by namespace/name
	Services    []*Service    // sorted by namespace/name
	ConfigMaps  []*ConfigMap  // sorted by namespace/name
	Secrets     []*Secret     // sorted by namespace/name; values never printed (mask.go)
	Namespaces  []*Namespace  // sorted by name

	PersistentVolumeClaims []*PersistentVolumeClaim // sorted by namespace/name
	Cluster                *Cluster                 // nil when the tree declares none (then --cluster must give one)
	Warnings               []string                 // non-fatal findings, e.g. a Service selecting no Deployment
}

// declaredIn lists the namespaces in which objs declare an object called
// name: for a reference that found none in its own namespace, the error
// says where one is.
func declaredIn[T any](objs []T, name string, meta func(T) *ObjectMeta) []string {
	var nss []string
	for _, x := range objs {
		if m := meta(x); m.Name == name {
			nss = append(nss, m.Namespace)
		}
	}
	return nss
}
