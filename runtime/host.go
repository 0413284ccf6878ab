package runtime

import (
	"sync"

	"github.com/docker/docker/client"
	"golang.org/x/crypto/ssh"
)

// maxSessions stays under sshd's default MaxSessions (10), which limits
// sessions per connection; Docker API calls use forwarding channels and do
// not count.
const maxSessions = 8

const defaultBinDir = "/var/lib/reconcile/bin"

// Host is one SSH connection to a host. All Run sessions and all Docker API
// calls share it. A Host is safe for concurrent use.
type Host struct {
	Name string
	Addr string // host:port actually dialed
	User string

	ssh      *ssh.Client
	sessions chan struct{}
	binDir   string // where EnsureBinary puts copies; tests point it elsewhere

	// docker is made in Dial, where a bad socket path can still be
	// reported; it opens no connection until the first call.
	docker *client.Client

	mu   sync.Mutex
	runs int // sessions opened, so tests can count round trips
}

// Docker returns the Docker API client for the host. It dials dockerd's unix
// socket through the SSH connection, so the host needs no TCP listener and
// neither side needs the docker CLI. The API version is negotiated on the
// first call, so older engines (20.10, API 1.41) work.
func (h *Host) Docker() *client.Client { return h.docker }

// Close ends the SSH connection, and with it every session and Docker call.
func (h *Host) Close() error {
	if h.docker != nil {
		h.docker.Close()
	}
	return h.ssh.Close()
}
