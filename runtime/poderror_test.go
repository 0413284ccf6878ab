package runtime

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
)

// A pod dockerd refuses is the pod's problem; a host that does not answer is
// the host's. The planner keeps using a host only in the first case.
func TestCreatePodErrorKinds(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(f *fakeDocker, s *PodSpec)
		wantReason string // "" means not a PodError
	}{
		{name: "pull refused in the progress stream", wantReason: ReasonErrImagePull,
			setup: func(f *fakeDocker, s *PodSpec) {
				s.Container.Image, s.Container.ImagePullPolicy = "nosuch/image:1", PullIfNotPresent
				f.pullErr = "pull access denied for nosuch/image, repository does not exist"
			}},
		{name: "image missing with Never", wantReason: ReasonErrImageNeverPull,
			setup: func(f *fakeDocker, s *PodSpec) {
				s.Container.Image, s.Container.ImagePullPolicy = "nosuch/image:1", PullNever
			}},
		{name: "start refused", wantReason: ReasonRunContainer,
			setup: func(f *fakeDocker, s *PodSpec) {
				s.Container.ImagePullPolicy = PullNever
				f.startErr = cerrdefs.ErrInvalidArgument.WithMessage("exec: /nosuch: no such file")
			}},
		{name: "start fails on a dead connection",
			setup: func(f *fakeDocker, s *PodSpec) {
				s.Container.ImagePullPolicy = PullNever
				f.startErr = &net.OpError{Op: "read", Err: errors.New("connection reset by peer")}
			}},
		{name: "start cancelled",
			setup: func(f *fakeDocker, s *PodSpec) {
				s.Container.ImagePullPolicy = PullNever
				f.startErr = fmt.Errorf("post: %w", context.DeadlineExceeded)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, p := fakeWithNetwork(t)
			s := basePodSpec()
			tt.setup(f, &s)
			_, err := p.Create(context.Background(), s)
			if err == nil {
				t.Fatal("create succeeded")
			}
			var pe *PodError
			switch {
			case tt.wantReason == "" && errors.As(err, &pe):
				t.Errorf("host failure %v came back as a pod error (%s)", err, pe.Reason)
			case tt.wantReason != "" && !errors.As(err, &pe):
				t.Errorf("%v: not a PodError", err)
			case tt.wantReason != "" && (pe.Reason != tt.wantReason || pe.Node != "node-1" || pe.Pod != s.Name):
				t.Errorf("PodError %+v; want reason %s on node-1 for %s", pe, tt.wantReason, s.Name)
			}
		})
	}
}
