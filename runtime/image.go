package runtime

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/pkg/jsonmessage"

	"github.com/reconcile-dev/reconcile/resources"
)

// Image pull policies, as in Kubernetes.
const (
	PullAlways       = "Always"
	PullIfNotPresent = "IfNotPresent"
	PullNever        = "Never"
)

// pullPolicy is the container's policy, or Kubernetes' default for it when
// unset: Always for ":latest" or an untagged image, IfNotPresent otherwise.
func pullPolicy(c resources.Container) string {
	if c.ImagePullPolicy != "" {
		return c.ImagePullPolicy
	}
	ref, err := reference.ParseNormalizedNamed(c.Image)
	if err != nil {
		return PullAlways
	}
	if _, ok := ref.(reference.Digested); ok {
		return PullIfNotPresent
	}
	if t, ok := ref.(reference.Tagged); ok && t.Tag() != "latest" {
		return PullIfNotPresent
	}
	return PullAlways
}

// ensureImage makes the container's image present on the host according to
// its pull policy. With Always, a failed pull of an image the host already
// has is not an error: it comes back as a warning and the local copy is used
// (Docker's convention; hosts without a registry still run their pods).
// A pull authenticates with the first of pullSecrets (.dockerconfigjson
// values) that has credentials for the image's registry.
func (p *Pods) ensureImage(ctx context.Context, c resources.Container, pullSecrets [][]byte) (warnings []string, err error) {
	policy := pullPolicy(c)
	present := func() (bool, error) {
		_, err := p.api.ImageInspect(ctx, c.Image)
		if cerrdefs.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("%s: inspect image %s: %w", p.node, c.Image, err)
		}
		return true, nil
	}
	switch policy {
	case PullNever:
		ok, err := present()
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errNeverPull(p.node, c.Image)
		}
		return nil, nil
	case PullIfNotPresent:
		ok, err := present()
		if err != nil || ok {
			return nil, err
		}
		return nil, p.pullOnce(ctx, c.Image, pullSecrets)
	case PullAlways:
		pullErr := p.pullOnce(ctx, c.Image, pullSecrets)
		if pullErr == nil {
			return nil, nil
		}
		ok, err := present()
		if err != nil || !ok {
			return nil, pullErr
		}
		return []string{fmt.Sprintf("%s: could not pull image %s, using the copy already on the host: %v", p.node, c.Image, errors.Unwrap(pullErr))}, nil
	}
	return nil, fmt.Errorf("imagePullPolicy %q: want Always, IfNotPresent or Never", policy)
}

// pullOnce pulls ref, sharing one pull among the pods that want it at about
// the same time with the same credentials (pullmemo.go): a pull that failed
// with other credentials, or none, is no answer for these, so a pod whose
// pull secret was fixed is retried at once.
func (p *Pods) pullOnce(ctx context.Context, ref string, pullSecrets [][]byte) error {
	var auth string
	if len(pullSecrets) > 0 {
		var err error
		auth, err = RegistryAuth(pullSecrets, ref)
		switch {
		case errors.Is(err, errNoPullAuth):
			auth = "" // anonymous, as the kubelet pulls without a matching secret
		case err != nil:
			return fmt.Errorf("%s: pull image %s: %w", p.node, ref, podFault{err})
		}
	}
	key := ref
	if auth != "" {
		sum := sha256.Sum256([]byte(auth))
		key += "\x00" + hex.EncodeToString(sum[:])
	}
	return p.pulls.do(ctx, key, time.Now, func() error { return p.pull(ctx, ref, auth) })
}

// pull pulls an image and waits for the end of Docker's progress stream,
// which is also where a failed pull reports its error. auth is the
// X-Registry-Auth value ("" for none); it goes to dockerd over the API
// connection only.
func (p *Pods) pull(ctx context.Context, ref, auth string) error {
	rc, err := p.api.ImagePull(ctx, ref, image.PullOptions{RegistryAuth: auth})
	if err != nil {
		return fmt.Errorf("%s: pull image %s: %w", p.node, ref, err)
	}
	defer rc.Close()
	dec := json.NewDecoder(rc)
	for {
		var m jsonmessage.JSONMessage
		if err := dec.Decode(&m); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("%s: pull image %s: reading progress: %w", p.node, ref, err)
		}
		if m.Error != nil {
			return fmt.Errorf("%s: pull image %s: %w", p.node, ref, podFault{m.Error})
		}
		if msg := legacyError(m); msg != "" {
			return fmt.Errorf("%s: pull image %s: %w", p.node, ref, podFault{errors.New(msg)})
		}
	}
}

// legacyError is the error text of a pull progress message from a daemon
// that sends only the deprecated errorMessage field.
func legacyError(m jsonmessage.JSONMessage) string {
	//lint:ignore SA1019 older daemons send only this field
	return m.ErrorMessage
}
