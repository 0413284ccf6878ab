package agent

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/docker/docker/client"

	rnet "github.com/reconcile-dev/reconcile/net"
	"github.com/reconcile-dev/reconcile/net/clusterdns"
	"github.com/reconcile-dev/reconcile/runtime"
)

// DNSServe runs this host's cluster DNS server in the foreground. It is the
// command of the reconcile-dns container that the apply verb keeps running
// (runtime.EnsureDNSServer); its request comes in runtime.DNSServeEnv, as a
// container restarted by Docker has no stdin.
var DNSServe = Handler{
	Name:  "dns-serve",
	Short: "Run this host's cluster DNS server (the reconcile-dns container's command)",
	Run: func(ctx context.Context, in io.Reader, _ io.Writer) error {
		var req runtime.DNSServeRequest
		if err := readServiceRequest("dns-serve", runtime.DNSServeEnv, in, &req); err != nil {
			return err
		}
		ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
		defer stop()
		logger := log.New(os.Stderr, "", log.LstdFlags)
		logger.Printf("cluster DNS: serving %s on %v from %s", req.Domain, req.Listen, req.RecordsFile)
		return clusterdns.Serve(ctx, clusterdns.Config{
			Listen: req.Listen, RecordsFile: req.RecordsFile, Domain: req.Domain,
			ResolvConf: req.ResolvConf, SkipUpstreams: req.Listen, Logf: logger.Printf,
		})
	},
}

// ensureDNSServer runs the cluster DNS container the config asks for, with
// this agent's own binary (the build the CLI installed).
func ensureDNSServer(ctx context.Context, req ApplyRequest) ([]rnet.Change, error) {
	d := req.Config.ClusterDNS
	if d == nil {
		return nil, nil
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("cluster DNS: find own binary: %w", err)
	}
	dockerHost := req.DockerHost
	if dockerHost == "" {
		dockerHost = "unix:///var/run/docker.sock"
	}
	api, err := client.NewClientWithOpts(client.WithHost(dockerHost), client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("cluster DNS: docker at %s: %w", dockerHost, err)
	}
	defer api.Close()
	done, err := runtime.EnsureDNSServer(ctx, api, runtime.DNSServerSpec{
		Cluster: req.Config.Cluster, Binary: self, BinarySum: installedSum(self), IP: d.IP, Domain: d.Domain, RecordsFile: d.RecordsFile,
	}, req.DryRun)
	changes := make([]rnet.Change, 0, len(done))
	for _, c := range done {
		changes = append(changes, rnet.Change{Kind: KindDNSServer, Action: c.Action, Target: c.Target, Detail: c.Detail})
	}
	if err != nil {
		err = fmt.Errorf("node %s: %w", req.Config.Node, err)
	}
	return changes, err
}

// KindDNSServer is the change kind of the DNS server's image and container.
const KindDNSServer = "dns-server"

// installedSum is the hash prefix in the name EnsureBinary gives the agent
// (reconcile-<12 hex digits>), which saves hashing it on every apply; ""
// for a binary named otherwise.
func installedSum(p string) string {
	s, ok := strings.CutPrefix(filepath.Base(p), "reconcile-")
	if !ok || len(s) != 12 {
		return ""
	}
	if _, err := hex.DecodeString(s); err != nil {
		return ""
	}
	return s
}
