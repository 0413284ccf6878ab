// Package resources is the manifest model: the Kubernetes objects reconcile
// understands (apps/v1 Deployment, v1 Service) and its own Cluster inventory,
// how they are loaded from a tree of YAML/JSON files, defaulted and validated.
// It knows nothing about hosts.
//
// What a tree may make reconcile read and hold is bounded (limits.go), and
// every default lives in defaults.go.
//
// # Why not k8s.io/api and k8s.io/apimachinery
//
// Using the upstream types (appsv1.Deployment, corev1.Service,
// resource.Quantity, intstr, metav1.LabelSelector, the DNS-1123
// validators) was measured on 2026-12-02 (Go 1.26.8, CGO_ENABLED=0,
// -trimpath, k8s.io/api and apimachinery v0.37.2, on the shared 2-core
// machine, so times are loaded-machine times):
//
//   - a static hello world is 2.4 MB; a program decoding one Deployment
//     into appsv1.Deployment with sigs.k8s.io/yaml is 13.1 MB;
//   - the reconcile binary is 17.9 MB; with resources importing the
//     types it is 22.3 MB: +4.3 MB (+24 %), copied to every host as the
//     node agent;
//   - go.mod gains 17 modules (klog, kube-openapi, structured-merge-diff,
//     json-iterator, cbor, inf.v0, x/text, ...);
//   - building resources from a cold cache (stdlib cached) takes 46 s
//     instead of 2.5 s; the whole binary's cold build, dominated by the
//     Docker SDK and go-git, went from 277 s to 292 s on the loaded
//     machine (noisy: both are about 4.5 minutes).
//
// What it would save is small: the strict pass (strict.go) that gives
// every error a file and line, and the lists of fields reconcile does not
// support (fields.go), stay ours either way, because the upstream types
// accept every field kubectl knows and reconcile implements a subset;
// Quantity, IntOrString and the selector are a few hundred lines with
// tests. So the model stays hand-written, shaped like the upstream types
// (same JSON names, same defaults) so that switching later is mechanical.
// Revisit if the agent becomes a separate small binary, so that the
// CLI's size no longer travels to every host.
package resources
