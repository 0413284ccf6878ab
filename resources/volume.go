package resources

// Volume is one of a pod's volumes; exactly one source is set. A new
// source is one field here, one case in validateVolumeSource and one in
// the runtime's volume switch (runtime/volumes.go).
type Volume struct {
	Name         string `json:"name"`
	VolumeSource `json:",inline"`
}

type VolumeSource struct {
	EmptyDir  *EmptyDirVolumeSource  `json:"emptyDir,omitempty"`
	HostPath  *HostPathVolumeSource  `json:"hostPath,omitempty"`
	ConfigMap *ConfigMapVolumeSource `json:"configMap,omitempty"`
	Secret    *SecretVolumeSource    `json:"secret,omitempty"`
	Projected *ProjectedVolumeSource `json:"projected,omitempty"`

	PersistentVolumeClaim *PVCVolumeSource `json:"persistentVolumeClaim,omitempty"`
}

// StorageMediumMemory makes an emptyDir a tmpfs.
const StorageMediumMemory = "Memory"

type EmptyDirVolumeSource struct {
	Medium    string    `json:"medium,omitempty"` // "" (the host's disk) or Memory (tmpfs)
	SizeLimit *Quantity `json:"sizeLimit,omitempty"`
}

// HostPath types, as Kubernetes names them; "" does no check.
const (
	HostPathUnset             = ""
	HostPathDirectoryOrCreate = "DirectoryOrCreate"
	HostPathDirectory         = "Directory"
	HostPathFileOrCreate      = "FileOrCreate"
	HostPathFile              = "File"
	HostPathSocket            = "Socket"
	HostPathCharDev           = "CharDevice"
	HostPathBlockDev          = "BlockDevice"
)

type HostPathVolumeSource struct {
	Path string  `json:"path"`
	Type *string `json:"type,omitempty"`
}

// KeyToPath maps one key of a ConfigMap or Secret to a file.
type KeyToPath struct {
	Key  string `json:"key"`
	Path string `json:"path"`
	Mode *int32 `json:"mode,omitempty"`
}

// DefaultVolumeMode is the mode of ConfigMap and Secret files, as in
// Kubernetes (0644).
const DefaultVolumeMode int32 = 0o644

type ConfigMapVolumeSource struct {
	Name        string      `json:"name"`
	Items       []KeyToPath `json:"items,omitempty"`
	DefaultMode *int32      `json:"defaultMode,omitempty"`
	Optional    *bool       `json:"optional,omitempty"`
}

type SecretVolumeSource struct {
	SecretName  string      `json:"secretName"`
	Items       []KeyToPath `json:"items,omitempty"`
	DefaultMode *int32      `json:"defaultMode,omitempty"`
	Optional    *bool       `json:"optional,omitempty"`
}

type ProjectedVolumeSource struct {
	Sources     []VolumeProjection `json:"sources"`
	DefaultMode *int32             `json:"defaultMode,omitempty"`
}

type VolumeProjection struct {
	ConfigMap *ConfigMapProjection `json:"configMap,omitempty"`
	Secret    *SecretProjection    `json:"secret,omitempty"`
}

type ConfigMapProjection struct {
	Name     string      `json:"name"`
	Items    []KeyToPath `json:"items,omitempty"`
	Optional *bool       `json:"optional,omitempty"`
}

type SecretProjection struct {
	Name     string      `json:"name"`
	Items    []KeyToPath `json:"items,omitempty"`
	Optional *bool       `json:"optional,omitempty"`
}

type VolumeMount struct {
	Name      string `json:"name"`
	MountPath string `json:"mountPath"`
	ReadOnly  bool   `json:"readOnly,omitempty"`
	SubPath   string `json:"subPath,omitempty"`
}

// EnvVarSource is where an env var's value comes from; exactly one is set.
type EnvVarSource struct {
	ConfigMapKeyRef *KeySelector         `json:"configMapKeyRef,omitempty"`
	SecretKeyRef    *KeySelector         `json:"secretKeyRef,omitempty"`
	FieldRef        *ObjectFieldSelector `json:"fieldRef,omitempty"`
}

// KeySelector is configMapKeyRef's and secretKeyRef's shape.
type KeySelector struct {
	Name     string `json:"name"`
	Key      string `json:"key"`
	Optional *bool  `json:"optional,omitempty"`
}

type ObjectFieldSelector struct {
	APIVersion string `json:"apiVersion,omitempty"`
	FieldPath  string `json:"fieldPath"`
}

type EnvFromSource struct {
	Prefix       string       `json:"prefix,omitempty"`
	ConfigMapRef *LocalObjRef `json:"configMapRef,omitempty"`
	SecretRef    *LocalObjRef `json:"secretRef,omitempty"`
}

type LocalObjRef struct {
	Name     string `json:"name"`
	Optional *bool  `json:"optional,omitempty"`
}

func isTrue(b *bool) bool { return b != nil && *b }
