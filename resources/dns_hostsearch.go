package resources

import "strings"

// WithHostSearches is a ClusterFirst pod's resolver configuration with the
// host's search domains put after its first at entries (the cluster's
// <ns>.svc.<domain> svc.<domain> <domain>), as the kubelet builds it:
// duplicates dropped (first one kept), then cut to Kubernetes' limits.
// dropped lists what the limits cut, for the kubelet's warning.
//
// The host's list is only known on the host, so the node agent applies
// this when it writes the pod's file (net.File.HostSearchAt); the CLI
// builds the rest (PodResolvConf).
func WithHostSearches(pod ResolvConf, at int, host ResolvConf) (merged ResolvConf, dropped []string) {
	at = min(max(at, 0), len(pod.Searches))
	list := append(append(append([]string(nil), pod.Searches[:at]...), host.Searches...), pod.Searches[at:]...)
	merged = pod
	merged.Searches, dropped = limitSearches(appendNew(nil, list))
	return merged, dropped
}

// limitSearches cuts a search list to Kubernetes' limits: at most
// MaxDNSSearchPaths domains and MaxDNSSearchListChars characters joined
// by spaces, dropping from the end as the kubelet does.
func limitSearches(s []string) (kept, dropped []string) {
	n := min(len(s), MaxDNSSearchPaths)
	for n > 0 && len(strings.Join(s[:n], " ")) > MaxDNSSearchListChars {
		n--
	}
	return s[:n], s[n:]
}
