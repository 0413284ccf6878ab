package resources

import "strings"

// How pods pull their images with imagePullSecrets: each entry names a
// kubernetes.io/dockerconfigjson Secret in the pod's namespace, checked at
// load (checkPullSecrets). Its .dockerconfigjson value is handed, in
// memory, to the host's dockerd for the pull only (runtime.RegistryAuth);
// it is neither written to a host nor part of the pod template's hash, so
// changing the Secret rolls nothing, as on Kubernetes, and the next pull
// (a new pod, or a retry of one that failed ErrImagePull) uses it.

// LocalObjectReference names an object in the referrer's namespace.
type LocalObjectReference struct {
	Name string `json:"name"`
}

// validatePullSecretNames checks the names on their own; checkPullSecrets
// checks them against the tree's Secrets.
func validatePullSecretNames(o obj, path string, p *PodSpec) {
	for i, ref := range p.ImagePullSecrets {
		validateRefName(o, fieldPath(indexPath(fieldPath(path, "imagePullSecrets"), i), "name"), ref.Name)
	}
}

// checkPullSecrets reports imagePullSecrets that name no Secret in the
// pod's namespace, or one of another type than kubernetes.io/dockerconfigjson.
// Kubernetes' kubelet would pull anonymously with a warning; reconcile
// refuses the tree instead, since a typo here only shows later as an
// ErrImagePull on some host.
func checkPullSecrets(r *reporter, s *Set) {
	for _, d := range s.Deployments {
		o := r.object(d.Source, d.kind(), d.Name)
		for i, ref := range d.Spec.Template.Spec.ImagePullSecrets {
			if ref.Name == "" || dns1123Subdomain(ref.Name) != "" {
				continue // reported by validatePullSecretNames
			}
			p := fieldPath(indexPath("spec.template.spec.imagePullSecrets", i), "name")
			sec := s.SecretNamed(d.Namespace, ref.Name)
			switch {
			case sec == nil:
				if elsewhere := declaredIn(s.Secrets, ref.Name, func(x *Secret) *ObjectMeta { return &x.ObjectMeta }); len(elsewhere) > 0 {
					o.errorf(p, "Secret %q not found in namespace %q; a pull secret must be in the pod's namespace, and %s is declared in %s", ref.Name, d.Namespace, quote(ref.Name), strings.Join(elsewhere, ", "))
				} else {
					o.errorf(p, "Secret %q not found in namespace %q: declare it (type %s)", ref.Name, d.Namespace, SecretTypeDockerConfigJSON)
				}
			case sec.Type != SecretTypeDockerConfigJSON:
				o.errorf(p, "Secret %s/%s is of type %s: imagePullSecrets take a Secret of type %s", d.Namespace, ref.Name, sec.Type, SecretTypeDockerConfigJSON)
			}
		}
	}
}

// PullSecrets are the .dockerconfigjson values of d's imagePullSecrets,
// in order: what the pulls of d's images authenticate with. Secrets the
// tree lacks are skipped (a validated tree has them all).
func (s *Set) PullSecrets(d *Deployment) [][]byte {
	var out [][]byte
	for _, ref := range d.Spec.Template.Spec.ImagePullSecrets {
		sec := s.SecretNamed(d.Namespace, ref.Name)
		if sec == nil || sec.Type != SecretTypeDockerConfigJSON {
			continue
		}
		if v, ok := sec.Data[".dockerconfigjson"]; ok {
			out = append(out, v)
		}
	}
	return out
}
