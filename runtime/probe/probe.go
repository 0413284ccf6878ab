// Package probe is the readiness check that runs inside a pod as Docker's
// HEALTHCHECK command (`reconcile probe ...`, bind-mounted read-only at
// /.reconcile/reconcile). Images may be scratch images without a shell,
// curl or wget, so the check is the reconcile binary itself; it must stay
// pure Go so the binary can be built static.
//
// Its exit status is what Docker reads: 0 means success, 1 failure. Usage
// errors also exit 1, so a mistyped check shows up as an unhealthy pod rather
// than a healthy one.
package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"
)

// UserAgent is sent with HTTP probes, like kubelet's "kube-probe/<version>",
// so servers can tell probes from real traffic in their logs.
const UserAgent = "reconcile-probe/1"

type headers []string

func (h *headers) String() string     { return strings.Join(*h, ", ") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

// Main runs one check and returns the process exit code.
//
//	probe --http http://10.0.0.5:80/healthz [--header Name:Value]... [--timeout 1s]
//	probe --tcp 10.0.0.5:80 [--timeout 1s]
//	probe --exec [--timeout 1s] -- COMMAND [ARG]...
//
// --gate FILE fails every check until FILE exists: a container's startup
// probe holds its readiness until the host's supervisor, which runs the
// startup probe, writes FILE (mounted read-only from the host). With
// --gate alone the check is that file.
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	httpURL := fs.String("http", "", "GET this URL; a status of 200-399 is success")
	tcpAddr := fs.String("tcp", "", "open a TCP connection to host:port")
	execCmd := fs.Bool("exec", false, "run the command after --; exit status 0 is success")
	gate := fs.String("gate", "", "fail until this file exists (the startup probe passed)")
	timeout := fs.Duration("timeout", time.Second, "give up after this long")
	var hdrs headers
	fs.Var(&hdrs, "header", "extra HTTP request header Name:Value (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 1
	}
	if fs.NArg() > 0 && !*execCmd {
		fmt.Fprintf(stderr, "probe: unexpected arguments %q\n", fs.Args())
		return 1
	}
	n := 0
	for _, set := range []bool{*httpURL != "", *tcpAddr != "", *execCmd} {
		if set {
			n++
		}
	}
	if n > 1 || (n == 0 && *gate == "") {
		fmt.Fprintln(stderr, "probe: give exactly one of --http, --tcp or --exec")
		return 1
	}
	if *execCmd && fs.NArg() == 0 {
		fmt.Fprintln(stderr, "probe: --exec needs a command after --")
		return 1
	}
	if *timeout <= 0 {
		fmt.Fprintln(stderr, "probe: --timeout must be positive")
		return 1
	}
	if *gate != "" {
		if _, err := os.Stat(*gate); err != nil {
			fmt.Fprintln(stdout, "probe failed: the startup probe has not succeeded yet")
			return 1
		}
		if n == 0 {
			fmt.Fprintln(stdout, "started")
			return 0
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	var msg string
	var err error
	switch {
	case *httpURL != "":
		msg, err = CheckHTTP(ctx, *httpURL, hdrs)
	case *tcpAddr != "":
		msg, err = CheckTCP(ctx, *tcpAddr)
	default:
		msg, err = checkExec(ctx, fs.Args())
	}
	if err != nil {
		// Docker keeps the output of the last checks in `docker inspect`
		// (State.Health.Log), which is where a user looks for why a pod is
		// not ready; stdout is what it records.
		fmt.Fprintf(stdout, "probe failed: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, msg)
	return 0
}

// checkExec runs a command (inside the container, where the probe runs).
func checkExec(ctx context.Context, argv []string) (string, error) {
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if len(out) > 1024 {
		out = out[:1024]
	}
	if ctx.Err() != nil {
		return "", fmt.Errorf("%s: timed out", argv[0])
	}
	if err != nil {
		return "", fmt.Errorf("%s: %v: %s", argv[0], err, strings.TrimSpace(string(out)))
	}
	return strings.TrimSpace(string(out)), nil
}

// CheckHTTP is an httpGet probe: a GET of url whose status is 200-399.
// hdrs are Name:Value.
func CheckHTTP(ctx context.Context, url string, hdrs []string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set("Accept", "*/*")
	for _, h := range hdrs {
		name, value, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return "", fmt.Errorf("header %q: want Name:Value", h)
		}
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if http.CanonicalHeaderKey(name) == "Host" {
			req.Host = value
			continue
		}
		req.Header.Set(name, value)
	}
	client := &http.Client{
		Transport: &http.Transport{
			// Like kubelet: probes check liveness of a server, not its
			// certificate, and must not pick up proxy settings from the image.
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
			Proxy:             nil,
			DisableKeepAlives: true,
		},
		// A redirect is an answer; 3xx counts as success as in kubelet, and
		// following it could leave the pod.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	// Read a little so the server sees a complete exchange, not a reset.
	_, _ = io.CopyN(io.Discard, resp.Body, 10<<10)
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return "", fmt.Errorf("GET %s: HTTP %s", url, resp.Status)
	}
	return fmt.Sprintf("GET %s: HTTP %s", url, resp.Status), nil
}

// CheckTCP is a tcpSocket probe: a connection to addr (host:port).
func CheckTCP(ctx context.Context, addr string) (string, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return "", fmt.Errorf("--tcp %q: want host:port", addr)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return "", fmt.Errorf("connect %s: timed out", addr)
		}
		return "", err
	}
	conn.Close()
	return "connect " + addr + ": ok", nil
}
