package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/client"
)

// Why a pod could not be created, in kubelet's words (what `kubectl get
// pods` shows in its STATUS column).
const (
	ReasonErrImagePull          = "ErrImagePull"
	ReasonImagePullBackOff      = "ImagePullBackOff"
	ReasonErrImageNeverPull     = "ErrImageNeverPull"
	ReasonCreateContainerConfig = "CreateContainerConfigError"
	ReasonCreateContainer       = "CreateContainerError"
	ReasonRunContainer          = "RunContainerError"
)

// PodError is a pod that could not be created on a host that works: dockerd
// answered, and refused this pod (its image cannot be pulled, its container
// cannot be created or started). It is that pod's problem, not the host's:
// the caller keeps using the host for other pods. Failures of the host
// itself (SSH, a dockerd that does not answer) are never a PodError.
type PodError struct {
	Node   string
	Pod    string
	Reason string // one of the Reason constants
	Err    error
}

func (e *PodError) Error() string { return e.Err.Error() }
func (e *PodError) Unwrap() error { return e.Err }

// podError wraps err as a PodError when dockerd answered with a refusal,
// and returns it unchanged when the host itself failed.
func (p *Pods) podError(pod, reason string, err error) error {
	if err == nil || hostFailed(err) {
		return err
	}
	return &PodError{Node: p.node, Pod: pod, Reason: reason, Err: err}
}

// podFault marks an error that is the pod's, though no API status says so:
// one dockerd sent inside a pull's progress stream (the daemon is up, the
// registry or the image is the problem), or a pod that does not fit the
// host's configuration (no free pod IP, a spec Docker cannot take).
type podFault struct{ error }

func (e podFault) Unwrap() error { return e.error }

// hostFailed reports whether err says the host did not answer (the SSH
// connection, the Docker socket, a cancelled or timed out call) rather
// than dockerd refusing a request. An error carrying an API status, or one
// dockerd put in a pull's progress stream, is an answer.
func hostFailed(err error) bool {
	var refused podFault
	switch {
	case errors.As(err, &refused):
		return false
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		client.IsErrConnectionFailed(err), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return true
	case cerrdefs.IsUnavailable(err):
		return true // dockerd shutting down
	case cerrdefs.IsNotFound(err), cerrdefs.IsInvalidArgument(err), cerrdefs.IsConflict(err),
		cerrdefs.IsUnauthorized(err), cerrdefs.IsPermissionDenied(err),
		cerrdefs.IsInternal(err), cerrdefs.IsUnknown(err), cerrdefs.IsFailedPrecondition(err),
		cerrdefs.IsNotImplemented(err), cerrdefs.IsResourceExhausted(err), cerrdefs.IsAlreadyExists(err):
		return false
	}
	var ue *url.Error
	var ne net.Error
	if errors.As(err, &ue) || errors.As(err, &ne) {
		return true
	}
	// Anything else (an SSH channel error, a transport we do not know) is
	// taken as the host's failure: calling a working host unreachable costs
	// one retry, calling a dead host's failure a pod's problem would hide it.
	return true
}

// errNeverPull is the Never policy with the image missing: a pod problem,
// not a host one.
func errNeverPull(node, image string) error {
	return podFault{fmt.Errorf("%s: image %s is not on the host and imagePullPolicy is Never: load it there (docker load) or change the policy", node, image)}
}
