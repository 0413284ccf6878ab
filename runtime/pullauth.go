package runtime

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/registry"
)

// dockerConfigJSON is a kubernetes.io/dockerconfigjson Secret's
// .dockerconfigjson value (what `docker login` writes to config.json).
type dockerConfigJSON struct {
	Auths map[string]dockerAuth `json:"auths"`
}

type dockerAuth struct {
	Username      string `json:"username"`
	Password      string `json:"password"`
	Auth          string `json:"auth"` // base64 "user:password"
	IdentityToken string `json:"identitytoken"`
	RegistryToken string `json:"registrytoken"`
}

// maxDockerConfig bounds a pull secret's value.
const maxDockerConfig = 1 << 20

// errNoPullAuth: none of the pull secrets has credentials for the image's
// registry; the pull goes anonymous, as the kubelet's does.
var errNoPullAuth = errors.New("no credentials for the image's registry")

// RegistryAuth returns the X-Registry-Auth header value (Docker's
// base64url-encoded AuthConfig) for pulling image with the first of the
// pod's imagePullSecrets (their .dockerconfigjson values, in order) that
// has credentials for its registry, matched as the kubelet matches them:
// the key's host (scheme dropped; "*." globs one label) equals the
// image's, with Docker Hub's index.docker.io, docker.io and
// https://index.docker.io/v1/ meaning the same, and a key with a path
// (after a leading /v1/ or /v2/, which means the registry) matching the
// repository by prefix. Errors never hold credentials.
func RegistryAuth(secrets [][]byte, image string) (string, error) {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return "", fmt.Errorf("image %q: %v", image, err)
	}
	host, repo := reference.Domain(named), reference.Path(named)
	for i, s := range secrets {
		if len(s) > maxDockerConfig {
			return "", fmt.Errorf("imagePullSecrets[%d]: .dockerconfigjson is larger than %d bytes", i, maxDockerConfig)
		}
		var cfg dockerConfigJSON
		if err := json.Unmarshal(s, &cfg); err != nil {
			// json's messages quote no more than a type or an offset.
			return "", fmt.Errorf("imagePullSecrets[%d]: .dockerconfigjson is not docker config JSON ({\"auths\": {...}})", i)
		}
		best, bestLen := "", -1
		for key := range cfg.Auths {
			if n, ok := matchRegistry(key, host, repo); ok && n > bestLen {
				best, bestLen = key, n
			}
		}
		if bestLen < 0 {
			continue
		}
		a := cfg.Auths[best]
		ac := registry.AuthConfig{Username: a.Username, Password: a.Password, IdentityToken: a.IdentityToken, RegistryToken: a.RegistryToken, ServerAddress: host}
		if a.Auth != "" && ac.Username == "" {
			raw, err := base64.StdEncoding.DecodeString(a.Auth)
			user, pass, ok := strings.Cut(string(raw), ":")
			if err != nil || !ok {
				return "", fmt.Errorf("imagePullSecrets[%d]: auths[%q].auth is not base64 of user:password", i, best)
			}
			ac.Username, ac.Password = user, pass
		}
		return registry.EncodeAuthConfig(ac)
	}
	return "", errNoPullAuth
}

// matchRegistry says whether a config.json auths key covers host/repo,
// and how specific the match is (the length of its path).
func matchRegistry(key, host, repo string) (int, bool) {
	k := key
	if i := strings.Index(k, "://"); i >= 0 {
		k = k[i+3:]
	}
	kh, kp, _ := strings.Cut(k, "/")
	if hubAlias(kh) {
		kh, kp = "docker.io", ""
	}
	if hubAlias(host) {
		host = "docker.io"
	}
	if !globHost(kh, host) {
		return 0, false
	}
	// A /v1/ or /v2/ path means the registry itself (Docker's
	// ResolveAuthConfig, and the kubelet after it).
	kp = strings.Trim(kp, "/")
	if kp == "v1" || kp == "v2" {
		kp = ""
	} else if strings.HasPrefix(kp, "v1/") || strings.HasPrefix(kp, "v2/") {
		kp = kp[3:]
	}
	if kp != "" && repo != kp && !strings.HasPrefix(repo, kp+"/") {
		return 0, false
	}
	return len(kp), true
}

func hubAlias(h string) bool {
	return h == "docker.io" || h == "index.docker.io" || h == "registry-1.docker.io"
}

// globHost matches host against a pattern whose labels may be "*".
func globHost(pattern, host string) bool {
	pl, hl := strings.Split(pattern, "."), strings.Split(host, ".")
	if len(pl) != len(hl) {
		return false
	}
	for i := range pl {
		if ok, _ := path.Match(pl[i], hl[i]); !ok {
			return false
		}
	}
	return true
}
