package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeCert writes a CA and a server certificate for name it signs, as
// PEM files in dir; it returns the CA file.
func writeCert(t *testing.T, dir, name string) string {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	if ip := net.ParseIP(name); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	write := func(file, typ string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, file), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("ca.crt", "CERTIFICATE", caDER)
	write("tls.crt", "CERTIFICATE", der)
	write("tls.key", "EC PRIVATE KEY", keyDER)
	return filepath.Join(dir, "ca.crt")
}

// The config file from a ConfigMap and the certificate from a TLS Secret
// make an HTTPS server that verifies against the CA, and `podserver get
// -cacert` checks it; a replaced certificate is served without a restart.
func TestTLSConfig(t *testing.T) {
	dir := t.TempDir()
	caFile := writeCert(t, dir, "127.0.0.1")
	conf := filepath.Join(dir, "default.conf")
	os.WriteFile(conf, []byte("# from a ConfigMap\nlisten 8080;\nlisten 8443 ssl;\nssl_certificate "+dir+"/tls.crt;\nssl_certificate_key "+dir+"/tls.key;\nbody hello from the ConfigMap;\n"), 0o600)
	c, err := loadConfig(conf)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.plain, ",") != ":8080" || strings.Join(c.tls, ",") != ":8443" || c.body != "hello from the ConfigMap" {
		t.Fatalf("config %+v", c)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: c.handler(), TLSConfig: c.tlsConfig()}
	go srv.ServeTLS(ln, "", "")
	defer srv.Close()
	url := "https://" + ln.Addr().String()

	var out, errb bytes.Buffer
	if code := get([]string{"-cacert", caFile, url + "/body"}, &out, &errb); code != 0 || out.String() != "hello from the ConfigMap\n" {
		t.Fatalf("get -cacert: %d %q %q", code, out.String(), errb.String())
	}
	out.Reset()
	if code := get([]string{"-cacert", caFile, url + "/"}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "hostname=") {
		t.Fatalf("get /: %d %q", code, out.String())
	}
	// -connect dials the given address; the URL's host (port 1: nothing
	// listens there) is still what the certificate is verified for.
	out.Reset()
	if code := get([]string{"-cacert", caFile, "-connect", ln.Addr().String(), "https://127.0.0.1:1/body"}, &out, &errb); code != 0 || out.String() != "hello from the ConfigMap\n" {
		t.Fatalf("get -connect: %d %q %q", code, out.String(), errb.String())
	}
	// Another CA does not verify it.
	other := t.TempDir()
	otherCA := writeCert(t, other, "127.0.0.1")
	errb.Reset()
	if code := get([]string{"-cacert", otherCA, url + "/"}, &out, &errb); code == 0 || !strings.Contains(errb.String(), "certificate") {
		t.Fatalf("get with another CA: %d %q", code, errb.String())
	}
	// The Secret's files replaced in place: the next handshake uses them.
	for _, f := range []string{"tls.crt", "tls.key"} {
		b, _ := os.ReadFile(filepath.Join(other, f))
		os.WriteFile(filepath.Join(dir, f), b, 0o600)
	}
	if code := get([]string{"-cacert", otherCA, url + "/"}, &out, &errb); code != 0 {
		t.Fatalf("after the certificate changed: %d %q", code, errb.String())
	}

	for _, bad := range []string{"listen 443 ssl;\n", "proxy_pass http://x;\n"} {
		os.WriteFile(conf, []byte(bad), 0o600)
		if _, err := loadConfig(conf); err == nil {
			t.Errorf("config %q accepted", bad)
		}
	}
}
