package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	goruntime "runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netns"
)

// testRegistry is a Docker Registry HTTP API v2 with basic auth, enough
// for dockerd to pull from it (the /v2/ check, manifests and blobs by
// GET and HEAD), serving images made of another image's `docker save`
// as schema2 manifests with gzipped layers. It listens on 127.0.0.1 in
// a lab host's network namespace, where that host's dockerd takes it as
// an insecure registry (127.0.0.0/8 is one by default), so nothing
// leaves the host.
type testRegistry struct {
	user, password string
	addr           string // 127.0.0.1:PORT inside the host
	srv            *http.Server

	manifests map[string][]byte // "repo:tag" -> manifest JSON
	blobs     map[string][]byte // digest -> content

	mu       sync.Mutex
	attempts []string // each request's credentials: "" (none), "ok" or "bad:<user>"
}

const manifestV2 = "application/vnd.docker.distribution.manifest.v2+json"

// startRegistry serves the image saved in save (a `docker save` tar of one
// image) as each of refs ("app:v1") on a host's loopback; it stops at the
// test's end.
func startRegistry(t *testing.T, netnsName string, save []byte, user, password string, refs ...string) *testRegistry {
	t.Helper()
	reg := &testRegistry{user: user, password: password, manifests: map[string][]byte{}, blobs: map[string][]byte{}}
	manifest, err := reg.addImage(save)
	if err != nil {
		t.Fatalf("registry: %v", err)
	}
	for _, r := range refs {
		reg.manifests[r] = manifest
	}
	ln := listenInNetns(t, netnsName)
	reg.addr = ln.Addr().String()
	reg.srv = &http.Server{Handler: reg, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := reg.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("registry: %v", err)
		}
	}()
	t.Cleanup(func() {
		reg.srv.Close()
		<-done
	})
	return reg
}

// listenInNetns opens a TCP listener on 127.0.0.1 inside the named network
// namespace: the socket is made on a thread switched into it, and stays
// there when the thread switches back.
func listenInNetns(t *testing.T, name string) net.Listener {
	t.Helper()
	type result struct {
		ln  net.Listener
		err error
	}
	ch := make(chan result, 1)
	go func() {
		goruntime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			goruntime.UnlockOSThread()
			ch <- result{err: err}
			return
		}
		defer orig.Close()
		h, err := netns.GetFromName(name)
		if err != nil {
			goruntime.UnlockOSThread()
			ch <- result{err: err}
			return
		}
		defer h.Close()
		if err := netns.Set(h); err != nil {
			goruntime.UnlockOSThread()
			ch <- result{err: err}
			return
		}
		ln, lerr := net.Listen("tcp", "127.0.0.1:0")
		// A thread left in the host's namespace must end with this
		// goroutine: it stays locked unless switching back worked.
		if err := netns.Set(orig); err != nil {
			if ln != nil {
				ln.Close()
			}
			ch <- result{err: fmt.Errorf("switch back to the test's netns: %v", err)}
			return
		}
		goruntime.UnlockOSThread()
		ch <- result{ln, lerr}
	}()
	r := <-ch
	if r.err != nil {
		t.Fatalf("listen in netns %s: %v", name, r.err)
	}
	return r.ln
}

// addImage stores the config and the gzipped layers of the saved image
// and returns its schema2 manifest.
func (reg *testRegistry) addImage(save []byte) ([]byte, error) {
	files := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(save))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("docker save: %v", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(tr, 1<<30))
		if err != nil {
			return nil, err
		}
		files[h.Name] = b
	}
	var saved []struct {
		Config string
		Layers []string
	}
	if err := json.Unmarshal(files["manifest.json"], &saved); err != nil || len(saved) != 1 {
		return nil, fmt.Errorf("docker save: manifest.json: %v (%d images)", err, len(saved))
	}
	type descriptor struct {
		MediaType string `json:"mediaType"`
		Size      int    `json:"size"`
		Digest    string `json:"digest"`
	}
	store := func(b []byte) string {
		sum := sha256.Sum256(b)
		d := "sha256:" + hex.EncodeToString(sum[:])
		reg.blobs[d] = b
		return d
	}
	cfg, ok := files[saved[0].Config]
	if !ok {
		return nil, fmt.Errorf("docker save: no %s", saved[0].Config)
	}
	m := struct {
		SchemaVersion int          `json:"schemaVersion"`
		MediaType     string       `json:"mediaType"`
		Config        descriptor   `json:"config"`
		Layers        []descriptor `json:"layers"`
	}{SchemaVersion: 2, MediaType: manifestV2,
		Config: descriptor{"application/vnd.docker.container.image.v1+json", len(cfg), store(cfg)}}
	for _, l := range saved[0].Layers {
		raw, ok := files[l]
		if !ok {
			return nil, fmt.Errorf("docker save: no %s", l)
		}
		var gz bytes.Buffer
		w := gzip.NewWriter(&gz)
		w.Write(raw)
		if err := w.Close(); err != nil {
			return nil, err
		}
		m.Layers = append(m.Layers, descriptor{"application/vnd.docker.image.rootfs.diff.tar.gzip", gz.Len(), store(gz.Bytes())})
	}
	return json.Marshal(m)
}

var registryPath = regexp.MustCompile(`^/v2/([a-z0-9._/-]+)/(manifests|blobs)/([A-Za-z0-9_.:-]+)$`)

func (reg *testRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !reg.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="reconcile e2e registry"`)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
		return
	}
	if r.URL.Path == "/v2/" || r.URL.Path == "/v2" {
		w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
		io.WriteString(w, "{}")
		return
	}
	m := registryPath.FindStringSubmatch(r.URL.Path)
	if m == nil || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		http.NotFound(w, r)
		return
	}
	var body []byte
	var ok bool
	switch m[2] {
	case "manifests":
		body, ok = reg.manifests[m[1]+":"+m[3]]
		if !ok {
			for _, b := range reg.manifests { // by digest
				if sum := sha256.Sum256(b); "sha256:"+hex.EncodeToString(sum[:]) == m[3] {
					body, ok = b, true
				}
			}
		}
		w.Header().Set("Content-Type", manifestV2)
	case "blobs":
		body, ok = reg.blobs[m[3]]
		w.Header().Set("Content-Type", "application/octet-stream")
	}
	if !ok {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"not found"}]}`)
		return
	}
	sum := sha256.Sum256(body)
	w.Header().Set("Docker-Content-Digest", "sha256:"+hex.EncodeToString(sum[:]))
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	if r.Method == http.MethodGet {
		w.Write(body)
	}
}

// authorized checks basic auth, recording what each request presented.
func (reg *testRegistry) authorized(r *http.Request) bool {
	user, pass, has := r.BasicAuth()
	ok := has && subtle.ConstantTimeCompare([]byte(user), []byte(reg.user)) == 1 &&
		subtle.ConstantTimeCompare([]byte(pass), []byte(reg.password)) == 1
	seen := ""
	switch {
	case ok:
		seen = "ok"
	case has:
		seen = "bad:" + user
	}
	reg.mu.Lock()
	reg.attempts = append(reg.attempts, seen)
	reg.mu.Unlock()
	return ok
}

// seen returns and forgets the credentials of the requests so far, each
// kind once, in order.
func (reg *testRegistry) seen() string {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	var out []string
	for _, a := range reg.attempts {
		if a == "" {
			a = "none"
		}
		if len(out) == 0 || out[len(out)-1] != a {
			out = append(out, a)
		}
	}
	reg.attempts = nil
	return strings.Join(out, ",")
}
