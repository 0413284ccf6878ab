package runtime

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/registry"
)

func TestRegistryAuth(t *testing.T) {
	cfg := func(auths string) []byte { return []byte(`{"auths":{` + auths + `}}`) }
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	lab := cfg(`"registry.lab:5000":{"username":"u1","password":"p1"},"registry.lab:5000/team":{"auth":"` + b64("u2:p2") + `"}`)
	hub := cfg(`"https://index.docker.io/v1/":{"auth":"` + b64("hubuser:hubpass") + `"}`)
	v2 := cfg(`"http://registry.lab:5000/v2/":{"username":"v","password":"vp"},"registry.lab:5000/v1/team":{"username":"t","password":"tp"}`)
	glob := cfg(`"*.example.com":{"username":"g","password":"gp"}`)
	tests := []struct {
		name, image    string
		secrets        [][]byte
		user, password string
		err            error
	}{
		{"host", "registry.lab:5000/app:1", [][]byte{lab}, "u1", "p1", nil},
		{"longest path wins", "registry.lab:5000/team/app:1", [][]byte{lab}, "u2", "p2", nil},
		{"docker hub aliases", "nginx:1.27", [][]byte{hub}, "hubuser", "hubpass", nil},
		{"a /v2/ path is the registry", "registry.lab:5000/app", [][]byte{v2}, "v", "vp", nil},
		{"a path after /v1/ is the repository's", "registry.lab:5000/team/app", [][]byte{v2}, "t", "tp", nil},
		{"glob label", "eu.example.com/x/y", [][]byte{glob}, "g", "gp", nil},
		{"glob is one label", "a.eu.example.com/x", [][]byte{glob}, "", "", errNoPullAuth},
		{"first secret that matches", "registry.lab:5000/app", [][]byte{hub, lab}, "u1", "p1", nil},
		{"no match is anonymous", "quay.io/x", [][]byte{lab, hub}, "", "", errNoPullAuth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := RegistryAuth(tt.secrets, tt.image)
			if tt.err != nil || err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err %v, want %v", err, tt.err)
				}
				return
			}
			raw, err := base64.URLEncoding.DecodeString(h)
			if err != nil {
				t.Fatal(err)
			}
			var ac registry.AuthConfig
			json.Unmarshal(raw, &ac)
			if ac.Username != tt.user || ac.Password != tt.password {
				t.Errorf("auth %s/%s, want %s/%s", ac.Username, ac.Password, tt.user, tt.password)
			}
		})
	}
	// A malformed secret is an error that holds no credentials.
	for _, bad := range [][]byte{[]byte(`{"auths": "s3cr3t-token"`), cfg(`"registry.lab:5000":{"auth":"s3cr3t-token"}`)} {
		_, err := RegistryAuth([][]byte{bad}, "registry.lab:5000/app")
		if err == nil || strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("malformed secret: %v", err)
		}
	}
}
