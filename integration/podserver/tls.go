package main

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// The TLS mode serves what "Securing the Service" asks of nginx: HTTPS with
// a certificate and key from mounted files (a kubernetes.io/tls Secret) and
// a config file from a mounted ConfigMap, in a few nginx-like directives:
//
//	listen 80;                                  plain HTTP (the UDP echo too)
//	listen 443 ssl;                             HTTPS
//	ssl_certificate /etc/nginx/ssl/tls.crt;
//	ssl_certificate_key /etc/nginx/ssl/tls.key;
//	body hello from the ConfigMap;              GET /body answers this line
//
// given by -config FILE or env CONFIG_FILE. Without a config file, env
// TLS_CERT and TLS_KEY (and TLS_PORT, default 443) do the same. The
// certificate is read again on every handshake, so a Secret updated in
// place (the kubelet's ..data swap) is served without a restart.
type serverConfig struct {
	plain, tls   []string // listen addresses
	cert, key    string
	body         string
	haveBodyLine bool
}

// maxConfig bounds the config file.
const maxConfig = 64 << 10

func loadConfig(path string) (*serverConfig, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c := &serverConfig{}
	sc := bufio.NewScanner(io.LimitReader(f, maxConfig))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSuffix(strings.TrimSpace(line), ";")
		if line == "" {
			continue
		}
		name, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		switch name {
		case "listen":
			port, ssl, _ := strings.Cut(rest, " ")
			if strings.TrimSpace(ssl) == "ssl" {
				c.tls = append(c.tls, ":"+port)
			} else {
				c.plain = append(c.plain, ":"+port)
			}
		case "ssl_certificate":
			c.cert = rest
		case "ssl_certificate_key":
			c.key = rest
		case "body":
			c.body, c.haveBodyLine = rest, true
		default:
			return nil, fmt.Errorf("%s:%d: unknown directive %q", path, n, name)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(c.tls) > 0 && (c.cert == "" || c.key == "") {
		return nil, fmt.Errorf("%s: listen ... ssl needs ssl_certificate and ssl_certificate_key", path)
	}
	if len(c.plain)+len(c.tls) == 0 {
		c.plain = []string{defaultListen()}
	}
	return c, nil
}

// configFromEnv is the config without a file: TLS_CERT, TLS_KEY, TLS_PORT.
func configFromEnv(listen string) *serverConfig {
	c := &serverConfig{plain: []string{listen}, cert: os.Getenv("TLS_CERT"), key: os.Getenv("TLS_KEY")}
	if c.cert != "" && c.key != "" {
		port := os.Getenv("TLS_PORT")
		if port == "" {
			port = "443"
		}
		c.tls = []string{":" + port}
	}
	return c
}

func (c *serverConfig) tlsConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			crt, err := tls.LoadX509KeyPair(c.cert, c.key)
			if err != nil {
				log.Printf("tls: %v", err)
				return nil, err
			}
			return &crt, nil
		},
	}
}

// handler is the package's handler() plus GET /body from the config file.
func (c *serverConfig) handler() http.Handler {
	base := handler()
	if !c.haveBodyLine {
		return base
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/body", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, c.body)
	})
	mux.Handle("/", base)
	return mux
}

// serveConfig serves the plain listeners with serve's UDP echo on the first
// and HTTPS on the others, until SIGTERM.
func serveConfig(c *serverConfig) error {
	errs := make(chan error, len(c.plain)+len(c.tls))
	h := c.handler()
	for i, addr := range c.plain {
		if i == 0 {
			go func() { errs <- serveWith(addr, h) }()
			continue
		}
		go func() { errs <- http.ListenAndServe(addr, h) }()
	}
	for _, addr := range c.tls {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, TLSConfig: c.tlsConfig()}
		log.Printf("podserver listening on %s (https)", addr)
		go func() { errs <- srv.ServeTLS(ln, "", "") }()
	}
	if len(c.plain) == 0 {
		// No plain listener whose shutdown ends the process on SIGTERM.
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		go func() { <-sig; errs <- nil }()
	}
	err := <-errs
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
