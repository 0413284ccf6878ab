package runtime

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/registry"
)

const (
	authImage    = "127.0.0.1:5000/app:v1"
	authPassword = "s3cret-pull-password"
)

func dockerConfig(host, user, pass string) []byte {
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	return []byte(`{"auths": {"` + host + `": {"auth": "` + auth + `"}}}`)
}

// A pod's pull secret reaches dockerd as the pull's X-Registry-Auth and
// nowhere else; a pull that failed with other credentials (or none) is
// not the answer for new ones, so a fixed secret is used at once; a
// broken secret is the pod's ErrImagePull, and no error names a password.
func TestCreatePullsWithPullSecret(t *testing.T) {
	want, err := registry.EncodeAuthConfig(registry.AuthConfig{Username: "puller", Password: authPassword, ServerAddress: "127.0.0.1:5000"})
	if err != nil {
		t.Fatal(err)
	}
	f, p := fakeWithNetwork(t)
	f.pullAuth = want
	ctx := context.Background()
	tests := []struct {
		name     string
		secrets  [][]byte
		wantAuth string // what the pull sent; "-": no pull
		wantErr  string
	}{
		{"no secret: anonymous", nil, "", "node-1: create pod app-1-nosec: pull image 127.0.0.1:5000/app:v1: Head \"http://127.0.0.1:5000/app:v1\": unauthorized: authentication required"},
		// Anonymous again: the failure of the pull just made stands (pullReuse).
		{"a secret for another registry: anonymous", [][]byte{dockerConfig("other.example", "puller", authPassword)}, "-", "unauthorized"},
		{"wrong password", [][]byte{dockerConfig("127.0.0.1:5000", "puller", "wrong-password")}, "wrong", "unauthorized"},
		{"malformed auth", [][]byte{[]byte(`{"auths": {"127.0.0.1:5000": {"auth": "bm8tY29sb24="}}}`)}, "-", `imagePullSecrets[0]: auths["127.0.0.1:5000"].auth is not base64 of user:password`},
		{"the second secret matches", [][]byte{dockerConfig("other.example", "x", "y"), dockerConfig("http://127.0.0.1:5000/v2/", "puller", authPassword)}, want, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := basePodSpec()
			s.Name = "app-1-" + strings.ReplaceAll(tt.name, " ", "")[:5]
			s.Container.Image = authImage
			s.PullSecrets = tt.secrets
			before := len(f.pullAuths)
			_, err := p.Create(ctx, s)
			var pe *PodError
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Create: %v", err)
			case tt.wantErr != "" && (!errors.As(err, &pe) || pe.Reason != ReasonErrImagePull || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Create: %v; want an ErrImagePull holding %q", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), authPassword) {
				t.Errorf("the error holds the password: %v", err)
			}
			sent := f.pullAuths[before:]
			switch {
			case tt.wantAuth == "-" && len(sent) != 0:
				t.Errorf("pulled with %q; want no pull", sent)
			case tt.wantAuth == "wrong" && (len(sent) != 1 || sent[0] == "" || sent[0] == want):
				t.Errorf("pulled with %q; want the wrong credentials", sent)
			case tt.wantAuth != "-" && tt.wantAuth != "wrong" && (len(sent) != 1 || sent[0] != tt.wantAuth):
				t.Errorf("pulled with %q; want [%q]", sent, tt.wantAuth)
			}
		})
	}
	// The container holds no trace of the credentials: not in its config,
	// labels, env or host config.
	for id, c := range f.containers {
		b, err := json.Marshal([]any{c.cfg, c.host, c.net})
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{authPassword, want, base64.StdEncoding.EncodeToString([]byte("puller:" + authPassword))} {
			if strings.Contains(string(b), secret) {
				t.Errorf("container %s holds the credentials: %s", id, b)
			}
		}
	}
	if len(f.containers) != 1 {
		t.Errorf("%d containers, want the one pod that pulled", len(f.containers))
	}
}
