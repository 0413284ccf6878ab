// Command podserver is the one program inside the lab's images (tagged
// nginx:latest on every lab host, so the seed's manifests apply unchanged).
// As a server it tells a caller who answered and who asked, which is what the
// networking tests need to see: the pod's hostname, its IPs and the caller's
// source address as the pod saw it (so NAT would show). As a client
// (`podserver get URL`) it replaces curl/wget inside pods, since the image has
// nothing else in it.
//
// Server:
//
//	podserver [-listen :80]        (or env PORT=8080)
//	GET /         hostname=my-nginx-abc ip=198.18.1.2 client=198.18.2.3:41234
//	GET /json     the same as a JSON object
//	GET /healthz  200 "ok", or 503 when env FAIL_READY=1 or when env READY_FILE
//	              names a file that does not exist
//	UDP same port answers every datagram with the same line as GET /
//	-config FILE / CONFIG_FILE, TLS_CERT + TLS_KEY: HTTPS from mounted files (tls.go)
//
// Client:
//
//	podserver get [-timeout 5s] [-cacert CA.pem] [-connect IP:PORT] URL   prints the body; exit 1 on error or non-2xx
//	podserver udp [-timeout 5s] HOST:PORT [MESSAGE]
//	podserver resolve [-type A|SRV|PTR|CNAME] [-n N -c C] NAME   (resolve.go)
//	podserver nslookup NAME
//	podserver exit CODE   exits with CODE at once (an init container that fails or completes)
//	podserver sh [-c SCRIPT]   a tiny shell (sh.go), also as /bin/sh in the image
//	podserver self        uid, gid, groups, capability bounding set, no_new_privs, rootfs ro/rw (self.go)
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	if filepath.Base(os.Args[0]) == "sh" {
		os.Exit(sh(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "get":
			os.Exit(get(os.Args[2:], os.Stdout, os.Stderr))
		case "udp":
			os.Exit(udp(os.Args[2:], os.Stdout, os.Stderr))
		case "resolve":
			os.Exit(resolve(os.Args[2:], os.Stdout, os.Stderr))
		case "nslookup":
			os.Exit(nslookup(os.Args[2:], os.Stdout, os.Stderr))
		case "self":
			os.Exit(self(os.Stdout, os.Stderr))
		case "exit":
			code := 2
			if len(os.Args) > 2 {
				fmt.Sscan(os.Args[2], &code)
			}
			fmt.Printf("exiting with %d\n", code)
			os.Exit(code)
		case "sh":
			os.Exit(sh(os.Args[2:], os.Stdin, os.Stdout, os.Stderr))
		case "cat": // a mounted ConfigMap/Secret file, for the volume tests
			os.Exit(catFiles(os.Args[2:], os.Stdout, os.Stderr))
		case "write": // write PATH CONTENT, into a shared volume
			if len(os.Args) != 4 || os.WriteFile(os.Args[2], []byte(os.Args[3]), 0o644) != nil {
				os.Exit(1)
			}
			os.Exit(0)
		case "printenv":
			os.Exit(printEnv(os.Args[2:], os.Stdout))
		case "serve":
			os.Args = append(os.Args[:1], os.Args[2:]...)
		}
	}
	listen := flag.String("listen", defaultListen(), "address for HTTP (TCP) and the UDP echo")
	config := flag.String("config", os.Getenv("CONFIG_FILE"), "nginx-like config file: listen, ssl_certificate, ssl_certificate_key, body (tls.go)")
	flag.Parse()
	c := configFromEnv(*listen)
	if *config != "" {
		var err error
		if c, err = loadConfig(*config); err != nil {
			log.Fatal(err)
		}
	}
	if len(c.tls) > 0 || c.haveBodyLine || len(c.plain) > 1 {
		if err := serveConfig(c); err != nil {
			log.Fatal(err)
		}
		return
	}
	if err := serve(*listen); err != nil {
		log.Fatal(err)
	}
}

func defaultListen() string {
	if p := os.Getenv("PORT"); p != "" {
		return ":" + p
	}
	return ":80"
}

// Reply is what the server says about one request.
type Reply struct {
	Hostname string   `json:"hostname"`
	IPs      []string `json:"ips"`
	Client   string   `json:"client"`
}

func (r Reply) String() string {
	return fmt.Sprintf("hostname=%s ip=%s client=%s", r.Hostname, strings.Join(r.IPs, ","), r.Client)
}

func reply(client string) Reply {
	host, _ := os.Hostname()
	return Reply{Hostname: host, IPs: localIPs(), Client: client}
}

// localIPs lists the pod's non-loopback addresses, IPv4 first, so the line a
// test reads starts with the pod IP it assigned.
func localIPs() []string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var ips []string
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok || n.IP.IsLoopback() || n.IP.IsLinkLocalUnicast() {
			continue
		}
		ips = append(ips, n.IP.String())
	}
	sort.SliceStable(ips, func(i, j int) bool {
		return strings.Contains(ips[j], ":") && !strings.Contains(ips[i], ":")
	})
	return ips
}

var (
	broken       atomic.Bool
	processStart = time.Now()
)

func ready() error {
	if os.Getenv("FAIL_READY") == "1" {
		return errors.New("FAIL_READY=1")
	}
	if f := os.Getenv("READY_FILE"); f != "" {
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("READY_FILE: %w", err)
		}
	}
	return nil
}

func handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := ready(); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	// /live is a liveness endpoint that /break makes fail for good (until
	// the container restarts): a process that hangs but still runs.
	mux.HandleFunc("/live", func(w http.ResponseWriter, r *http.Request) {
		if broken.Load() {
			http.Error(w, "broken", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/break", func(w http.ResponseWriter, r *http.Request) {
		broken.Store(true)
		fmt.Fprintln(w, "broken")
	})
	// /started fails until STARTED_AFTER (a duration) has passed since the
	// process started: a slow start for startup probes.
	mux.HandleFunc("/started", func(w http.ResponseWriter, r *http.Request) {
		d, _ := time.ParseDuration(os.Getenv("STARTED_AFTER"))
		if time.Since(processStart) < d {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "started")
	})
	// /log/WORDS writes "log WORDS" to stdout: a line a logs test asks for
	// while it follows.
	mux.HandleFunc("/log/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Printf("log %s\n", strings.TrimPrefix(r.URL.Path, "/log/"))
		fmt.Fprintln(w, "logged")
	})
	mux.HandleFunc("/json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(reply(r.RemoteAddr))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, reply(r.RemoteAddr))
	})
	return mux
}

func serve(addr string) error { return serveWith(addr, handler()) }

func serveWith(addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return err
	}
	go func() {
		buf := make([]byte, 64*1024)
		for {
			_, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo([]byte(reply(from.String()).String()+"\n"), from)
		}
	}()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	// As PID 1 in a container, SIGTERM has no default action; stop on it so
	// `docker stop` does not wait for its timeout.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sig
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		pc.Close()
	}()
	log.Printf("podserver listening on %s (tcp, udp)", addr)
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func get(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("get", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", 5*time.Second, "whole request timeout")
	count := fs.Int("n", 1, "number of requests, each on a new connection (a VIP balances per connection)")
	wait := fs.Duration("wait", 0, "retry a failed first request for this long (an init container waiting for a dependency)")
	cacert := fs.String("cacert", "", "verify https:// against this CA certificate (PEM) instead of the system roots")
	connect := fs.String("connect", "", "dial this IP:PORT instead of the URL's host, which stays the name TLS verifies (curl --connect-to): a Service's DNS name through its ClusterIP from a host that does not use the cluster DNS")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 || *count < 1 {
		fmt.Fprintln(stderr, "usage: podserver get [-timeout 5s] [-n 1] [-cacert CA.pem] [-connect IP:PORT] URL")
		return 2
	}
	tr := &http.Transport{DisableKeepAlives: true}
	if *connect != "" {
		addr := *connect
		tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}
	}
	if *cacert != "" {
		pem, err := os.ReadFile(*cacert)
		pool := x509.NewCertPool()
		if err != nil || !pool.AppendCertsFromPEM(pem) {
			fmt.Fprintf(stderr, "-cacert %s: no PEM certificate (%v)\n", *cacert, err)
			return 2
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	c := &http.Client{Timeout: *timeout, Transport: tr}
	for deadline := time.Now().Add(*wait); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if _, err := c.Head(fs.Arg(0)); err == nil {
			break
		}
	}
	failed := 0
	for i := 0; i < *count; i++ {
		if err := getOnce(c, fs.Arg(0), stdout); err != nil {
			fmt.Fprintln(stderr, err)
			failed++
		}
	}
	if failed > 0 {
		if *count > 1 {
			fmt.Fprintf(stderr, "%d of %d requests failed\n", failed, *count)
		}
		return 1
	}
	return 0
}

func getOnce(c *http.Client, url string, stdout io.Writer) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(stdout, resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return nil
}

func udp(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("udp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("timeout", 5*time.Second, "time to wait for the answer")
	if err := fs.Parse(args); err != nil || fs.NArg() < 1 || fs.NArg() > 2 {
		fmt.Fprintln(stderr, "usage: podserver udp [-timeout 5s] HOST:PORT [MESSAGE]")
		return 2
	}
	msg := "ping"
	if fs.NArg() == 2 {
		msg = fs.Arg(1)
	}
	conn, err := net.DialTimeout("udp", fs.Arg(0), *timeout)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(*timeout))
	if _, err := conn.Write([]byte(msg)); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	buf := make([]byte, 64*1024)
	n, err := conn.Read(buf)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	stdout.Write(buf[:n])
	return 0
}
