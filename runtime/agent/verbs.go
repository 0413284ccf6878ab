package agent

import (
	rnet "github.com/reconcile-dev/reconcile/net"
	"github.com/reconcile-dev/reconcile/runtime"
)

// The verbs, each with its request and response type.
var (
	Apply  = Verb[ApplyRequest, rnet.Result]{"apply"}
	Status = Verb[StatusRequest, StatusResponse]{"status"}
	Read   = Verb[ReadRequest, ReadResponse]{"read"}
	Lock   = Verb[LockRequest, LockResponse]{"lock"}
	// Claims lists, makes or removes PersistentVolumeClaim volumes
	// (claims.go); a write is fenced like apply.
	Claims = Verb[ClaimsRequest, ClaimsResponse]{"claims"}
	// Teardown is its own verb, not an empty apply config: removing
	// everything must be asked for by name, so a bug that sends a zero
	// config can never wipe a host.
	Teardown = Verb[TeardownRequest, rnet.Result]{"teardown"}
)

// Verbs is the host side: what `reconcile node <verb>` runs.
var Verbs = []Handler{
	Serve(Apply, "Converge this host's routes, VIP rules and files to the JSON config on stdin", serveApply),
	Serve(Status, "Print this host's pods, our files and network drift (reads only)", serveStatus),
	Serve(Read, "Print the files named in the JSON request on stdin", serveRead),
	Serve(Lock, "Acquire, renew or release this host's run lock per the JSON request on stdin", serveLock),
	Serve(Claims, "List, create or remove this host's PersistentVolumeClaim volumes per the JSON request on stdin", serveClaims),
	DNSServe,
	Pause,
	Kubelet,
	Serve(Teardown, "Remove the routes, VIP rules, sysctl changes and files reconcile made on this host", serveTeardown),
}

// TeardownRequest removes what reconcile made on the host's networking
// (see net.Teardown); the pod network and containers are Docker's, removed
// by the CLI.
type TeardownRequest struct {
	Node string `json:"node"` // for the response
	// Files are our files to remove besides those the host's record lists
	// (the endpoints file, the allocation and revision records); "DIR/*"
	// names every regular file directly in DIR, one of our directories.
	Files  []string `json:"files,omitempty"`
	DryRun bool     `json:"dryRun"`
	Fence  string   `json:"fence,omitempty"` // as ApplyRequest's
}

// ApplyRequest converges the host's networking to Config.
type ApplyRequest struct {
	Config rnet.NodeConfig `json:"config"`
	DryRun bool            `json:"dryRun"`
	// Fence is the ID of the run lock the sender holds. The host refuses a
	// write (not a dry run) unless that lock is the one it holds now, so a
	// run that lost its lock cannot undo the work of the run that took it.
	Fence string `json:"fence,omitempty"`
	// DockerHost is the host's Docker socket as the agent reaches it, for
	// the cluster DNS container (default unix:///var/run/docker.sock).
	DockerHost string `json:"dockerHost,omitempty"`
	// Detached are the file contents that follow the JSON, deflated if
	// Deflated (payload.go).
	Detached []Detached `json:"detached,omitempty"`
	Deflated bool       `json:"deflated,omitempty"`
}

// StatusRequest asks for everything a sync pass needs to decide whether
// there is anything to do, in one round trip.
type StatusRequest struct {
	Cluster    string   `json:"cluster"`
	DockerHost string   `json:"dockerHost"`
	Paths      []string `json:"paths"`
}

// StatusResponse is the host's pods, our files, and the network config it
// last applied with any drift from it.
type StatusResponse struct {
	Pods    []runtime.Pod     `json:"pods"`
	Claims  []runtime.Claim   `json:"claims,omitempty"` // the claim volumes: where each claim is bound
	Files   map[string][]byte `json:"files"`
	Applied rnet.Applied      `json:"applied"`
}

// ReadRequest names files to read, and files to describe only (Held).
type ReadRequest struct {
	Paths []string `json:"paths"`
	Held  []string `json:"held,omitempty"`
}

// ReadResponse carries file contents (base64 in JSON) and what the host
// holds of the Held files; missing files are absent from both.
type ReadResponse struct {
	Files map[string][]byte        `json:"files"`
	Held  map[string]rnet.HeldFile `json:"held,omitempty"`
}

// LockRequest and LockResponse are the host lock's, defined with it.
type (
	LockRequest  = rnet.LockRequest
	LockResponse = rnet.LockResponse
)
