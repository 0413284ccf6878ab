package resources

// ConfigMap is a v1 ConfigMap: configuration data pods take as
// environment variables or files.
type ConfigMap struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Data       map[string]string `json:"data,omitempty"`
	BinaryData map[string][]byte `json:"binaryData,omitempty"` // base64 in the manifest
	Immutable  *bool             `json:"immutable,omitempty"`
	Source     Source            `json:"-"`
}

// Secret types reconcile knows; any other type is kept as Opaque data
// would be, as Kubernetes accepts user-defined types.
const (
	SecretTypeOpaque           = "Opaque"
	SecretTypeTLS              = "kubernetes.io/tls"
	SecretTypeDockerConfigJSON = "kubernetes.io/dockerconfigjson"
	SecretTypeBasicAuth        = "kubernetes.io/basic-auth"
	SecretTypeSSHAuth          = "kubernetes.io/ssh-auth"
)

// Secret is a v1 Secret. Data holds the decoded values with stringData
// merged in (Default), as the API server stores them; its values are
// never printed (see mask.go).
type Secret struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Type       string            `json:"type,omitempty"` // defaulted to Opaque
	Data       map[string][]byte `json:"data,omitempty"` // base64 in the manifest
	StringData map[string]string `json:"stringData,omitempty"`
	Immutable  *bool             `json:"immutable,omitempty"`
	Source     Source            `json:"-"`

	// Plaintext is set when the manifest held data or stringData in the
	// clear, not SOPS-encrypted: load warns about it.
	Plaintext bool `json:"-"`
}

// Namespace is a v1 Namespace. Objects may name a namespace no manifest
// declares, as before; a declared one is listed by `get ns`.
type Namespace struct {
	TypeMeta   `json:",inline"`
	ObjectMeta `json:"metadata"`
	Source     Source `json:"-"`
}

// Values are the object's keys and values, ConfigMap data and binaryData
// together (their keys are disjoint once validated).
func (c *ConfigMap) Values() map[string][]byte {
	out := make(map[string][]byte, len(c.Data)+len(c.BinaryData))
	for k, v := range c.Data {
		out[k] = []byte(v)
	}
	for k, v := range c.BinaryData {
		out[k] = v
	}
	return out
}

// Default merges stringData into data, stringData winning, as the API
// server does on write, and defaults the type.
func (s *Secret) Default() {
	if s.Namespace == "" {
		s.Namespace = DefaultNamespace
	}
	if s.Type == "" {
		s.Type = SecretTypeOpaque
	}
	if len(s.StringData) > 0 {
		if s.Data == nil {
			s.Data = map[string][]byte{}
		}
		for k, v := range s.StringData {
			s.Data[k] = []byte(v)
		}
		s.StringData = nil
	}
}

// Default puts the ConfigMap in the default namespace when it names none.
func (c *ConfigMap) Default() {
	if c.Namespace == "" {
		c.Namespace = DefaultNamespace
	}
}
