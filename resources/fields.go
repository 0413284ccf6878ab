package resources

import (
	"reflect"
	"strings"
	"sync"
)

// notSupported lists, per type, fields Kubernetes has that reconcile
// deliberately does not implement, so users learn the difference between
// a typo and a missing feature.
var notSupported = map[reflect.Type][]string{
	reflect.TypeFor[ObjectMeta](): {"generateName", "uid", "resourceVersion", "generation",
		"creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "ownerReferences",
		"finalizers", "managedFields", "selfLink"},
	reflect.TypeFor[Deployment]():     {"status"},
	reflect.TypeFor[Service]():        {"status"},
	reflect.TypeFor[DaemonSet]():      {"status"},
	reflect.TypeFor[DeploymentSpec](): {"paused"},
	reflect.TypeFor[PodSpec](): {"ephemeralContainers",
		"nodeName", "hostNetwork", "hostPID", "hostIPC",
		"hostname", "subdomain", "schedulerName",
		"priority", "runtimeClassName", "activeDeadlineSeconds",
		"enableServiceLinks", "hostAliases", "shareProcessNamespace", "readinessGates", "overhead",
		"preemptionPolicy", "setHostnameAsFQDN", "os", "hostUsers", "schedulingGates",
		"resourceClaims", "resources"},
	reflect.TypeFor[Container](): {"volumeDevices",
		"lifecycle", "terminationMessagePath", "terminationMessagePolicy", "stdin",
		"stdinOnce", "tty", "resizePolicy"},
	reflect.TypeFor[EnvVarSource](): {"resourceFieldRef", "fileKeyRef"},
	reflect.TypeFor[Volume](): {"nfs", "iscsi", "csi", "ephemeral", "image",
		"downwardAPI", "awsElasticBlockStore", "gcePersistentDisk", "azureDisk", "azureFile", "cephfs",
		"cinder", "fc", "flexVolume", "flocker", "gitRepo", "glusterfs", "photonPersistentDisk",
		"portworxVolume", "quobyte", "rbd", "scaleIO", "storageos", "vsphereVolume"},
	reflect.TypeFor[VolumeProjection]():     {"downwardAPI", "serviceAccountToken", "clusterTrustBundle", "podCertificate"},
	reflect.TypeFor[VolumeMount]():          {"mountPropagation", "subPathExpr", "recursiveReadOnly"},
	reflect.TypeFor[ConfigMap]():            {},
	reflect.TypeFor[Namespace]():            {"spec", "status"},
	reflect.TypeFor[ContainerPort]():        {"hostPort", "hostIP"},
	reflect.TypeFor[ResourceRequirements](): {"claims"},
	reflect.TypeFor[Probe]():                {"grpc", "terminationGracePeriodSeconds"},
	reflect.TypeFor[ServiceSpec](): {"externalIPs", "loadBalancerIP",
		"internalTrafficPolicy", "healthCheckNodePort",
		"publishNotReadyAddresses", "ipFamilies", "ipFamilyPolicy", "clusterIPs",
		"loadBalancerClass", "trafficDistribution"},
	reflect.TypeFor[PodSecurityContext](): {"seLinuxOptions", "windowsOptions", "fsGroupChangePolicy",
		"appArmorProfile", "supplementalGroupsPolicy", "seLinuxChangePolicy"},
	reflect.TypeFor[SecurityContext]():          {"seLinuxOptions", "windowsOptions", "procMount", "appArmorProfile"},
	reflect.TypeFor[ServicePort]():              {"appProtocol"},
	reflect.TypeFor[Affinity]():                 {"podAffinity"},
	reflect.TypeFor[NodeSelectorTerm]():         {"matchFields"},
	reflect.TypeFor[PodAffinityTerm]():          {"namespaces", "namespaceSelector", "matchLabelKeys", "mismatchLabelKeys"},
	reflect.TypeFor[TopologySpreadConstraint](): {"minDomains", "nodeAffinityPolicy", "nodeTaintsPolicy", "matchLabelKeys"},
}

func isNotSupported(t reflect.Type, field string) bool {
	for _, f := range notSupported[t] {
		if f == field {
			return true
		}
	}
	return false
}

var jsonFieldCache sync.Map // reflect.Type -> map[string]reflect.Type

// jsonFields maps the JSON names of a struct's fields, with embedded
// untagged structs (",inline") promoted as encoding/json does, to the
// field types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := jsonFieldCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for k, v := range jsonFields(f.Type) {
				m[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f.Type
	}
	jsonFieldCache.Store(t, m)
	return m
}

// suggestField finds a known field that differs only in case, the most
// common typo in hand-written manifests.
func suggestField(t reflect.Type, field string) string {
	for name := range jsonFields(t) {
		if strings.EqualFold(name, field) {
			return name
		}
	}
	return ""
}
