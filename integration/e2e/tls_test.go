package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
)

// sopsRelease is the sops CLI the test encrypts with, as resources/sops'
// reference test builds it.
const sopsRelease = "v3.13.3"

// tlsNames are the Service's DNS names, which its certificate holds.
var tlsNames = []string{"secure-web", "secure-web.default", "secure-web.default.svc", "secure-web.default.svc.cluster.local"}

// testCert makes a CA and a server certificate for names it signs: the
// CA's PEM, and the server's certificate and key PEM.
func testCert(t *testing.T, names []string) (caPEM, crtPEM, keyPEM []byte) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "reconcile e2e CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: names[len(names)-1]}, DNSNames: names,
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

// sopsEncrypt encrypts plain (YAML) for recipient with the real sops CLI,
// only the Secret's data and stringData, as a repository would commit it.
func sopsEncrypt(t *testing.T, recipient, plain string) string {
	t.Helper()
	bin := t.TempDir()
	install := exec.Command("go", "install", "github.com/getsops/sops/v3/cmd/sops@"+sopsRelease)
	install.Env = append(os.Environ(), "GOBIN="+bin, "GOFLAGS=", "CGO_ENABLED=0")
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("go install sops %s: %v\n%s", sopsRelease, err, out)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "secret.yaml")
	if err := os.WriteFile(in, []byte(plain), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(bin, "sops"), "--encrypt", "--age", recipient, "--encrypted-regex", "^(data|stringData)$", in)
	cmd.Dir = dir
	cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH")}
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("sops --encrypt: %v\n%s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	return string(out)
}

// indent puts n spaces before every line of s.
func indent(s string, n int) string {
	pad := strings.Repeat(" ", n)
	return pad + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n"+pad) + "\n"
}

const secureWeb = `apiVersion: v1
kind: ConfigMap
metadata: {name: secure-web-conf}
data:
  default.conf: |
    listen 80;
    listen 443 ssl;
    ssl_certificate /etc/nginx/ssl/tls.crt;
    ssl_certificate_key /etc/nginx/ssl/tls.key;
    body hello over TLS;
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: secure-web}
spec:
  replicas: 3
  selector:
    matchLabels: {app: secure-web}
  template:
    metadata:
      labels: {app: secure-web}
    spec:
      terminationGracePeriodSeconds: 2
      volumes:
      - {name: secret-volume, secret: {secretName: secure-web-tls}}
      - {name: configmap-volume, configMap: {name: secure-web-conf}}
      containers:
      - name: nginx
        image: nginx:1.0
        imagePullPolicy: IfNotPresent
        env:
        - {name: CONFIG_FILE, value: /etc/nginx/conf.d/default.conf}
        ports:
        - {name: http, containerPort: 80}
        - {name: https, containerPort: 443}
        readinessProbe:
          httpGet: {path: /healthz, port: http}
          periodSeconds: 1
          timeoutSeconds: 1
          failureThreshold: 1
        volumeMounts:
        - {name: secret-volume, mountPath: /etc/nginx/ssl, readOnly: true}
        - {name: configmap-volume, mountPath: /etc/nginx/conf.d}
---
apiVersion: v1
kind: Service
metadata: {name: secure-web}
spec:
  selector: {app: secure-web}
  ports:
  - {name: https, port: 443, targetPort: https}
`

// "Securing the Service": a TLS Secret, SOPS-encrypted in the repository
// with an age key made here, and a ConfigMap with the server's config,
// mounted into a Deployment behind a Service. From every host, HTTPS to
// the Service's DNS name through its ClusterIP verifies against the
// test's CA and is balanced over the pods; no output of any command
// holds the server's private key or the age key.
func TestSecuringTheService(t *testing.T) {
	e := newEnv(t)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "age-key.txt")
	if err := os.WriteFile(keyFile, []byte("# public key: "+id.Recipient().String()+"\n"+id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	caPEM, crtPEM, keyPEM := testCert(t, tlsNames)
	secret := sopsEncrypt(t, id.Recipient().String(), `apiVersion: v1
kind: Secret
metadata: {name: secure-web-tls}
type: kubernetes.io/tls
stringData:
  tls.crt: |
`+indent(string(crtPEM), 4)+`  tls.key: |
`+indent(string(keyPEM), 4))
	if strings.Contains(secret, "PRIVATE KEY") {
		t.Fatalf("sops left the key in the clear:\n%s", secret)
	}
	e.pushFiles(map[string]string{"cluster.yaml": e.clusterYAML(), "secret.sops.yaml": secret, "web.yaml": secureWeb})

	var outputs []string
	run := func(code int, args ...string) result {
		t.Helper()
		r := e.mustRun(code, append(args, "--sops-age-key-file", keyFile)...)
		outputs = append(outputs, r.stdout, r.stderr)
		return r
	}
	// Without the key nothing is applied, and the error says why.
	r := e.run(e.fromGit("apply")...)
	outputs = append(outputs, r.stdout, r.stderr)
	if r.code != 3 || !strings.Contains(r.stderr, "secret.sops.yaml") || !strings.Contains(r.stderr, "SOPS-encrypted") {
		t.Errorf("apply without the age key:\n%s", r)
	}
	run(0, e.fromGit("apply")...)
	run(0, e.fromGit("diff")...)
	run(0, e.fromGit("render")...)
	run(0, e.fromGit("get", "secret", "secure-web-tls", "-o", "yaml")...)
	run(0, e.fromGit("get", "pods", "-o", "yaml")...)
	run(0, e.fromGit("describe", "svc", "secure-web")...)

	// Every read of the repository decrypts it, so each takes the key.
	ps := e.podsFrom(append(e.fromGit(), "--sops-age-key-file", keyFile), "app=secure-web")
	if len(ps) != 3 {
		t.Fatalf("%d pods, want 3", len(ps))
	}
	svc := run(0, e.fromGit("get", "svc", "secure-web", "-o", "json")...)
	m := regexp.MustCompile(`"clusterIP": "([0-9.]+)"`).FindStringSubmatch(svc.stdout)
	if m == nil {
		t.Fatalf("get svc secure-web -o json:\n%s", svc.stdout)
	}
	vip := m[1]
	caFile := filepath.Join(e.l.Dir, "e2e-"+strings.ReplaceAll(t.Name(), "/", "_")+"-ca.crt")
	if err := os.WriteFile(caFile, caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(caFile) })
	for _, h := range e.l.Hosts {
		var out string
		eventually(t, 30*time.Second, func() error {
			var err error
			out, err = e.exec(h.Name, e.podserver(), "get", "-timeout", "3s", "-n", "20", "-cacert", caFile,
				"-connect", vip+":443", "https://secure-web.default.svc.cluster.local/")
			if err != nil {
				return errors.New(out)
			}
			return nil
		})
		if by := countBy(out); len(by) < 2 {
			t.Errorf("%s: 20 HTTPS requests through %s answered by %v, want more than one pod", h.Name, vip, by)
		}
		// The body line of the mounted ConfigMap's config.
		if out := e.mustExec(h.Name, e.podserver(), "get", "-cacert", caFile, "-connect", vip+":443", "https://secure-web/body"); out != "hello over TLS\n" {
			t.Errorf("%s: /body = %q", h.Name, out)
		}
	}
	// Another CA does not verify the server: the check is real.
	otherCA, _, _ := testCert(t, tlsNames)
	otherFile := caFile + ".other"
	if err := os.WriteFile(otherFile, otherCA, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(otherFile) })
	if out, err := e.exec(e.l.Hosts[0].Name, e.podserver(), "get", "-cacert", otherFile, "-connect", vip+":443", "https://secure-web/"); err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
		t.Errorf("another CA verified the server: %v %q", err, out)
	}

	keyBody := strings.Split(strings.TrimSpace(string(keyPEM)), "\n")[1] // a line of the key's base64
	plain := map[string]string{
		"the private key":           keyBody,
		"the private key in base64": base64.StdEncoding.EncodeToString(keyPEM)[:40],
		"the age key":               id.String(),
	}
	for i, out := range outputs {
		for what, s := range plain {
			if strings.Contains(out, s) {
				t.Errorf("output %d holds %s:\n%s", i, what, out)
			}
		}
	}
}

// clusterYAML is the Cluster manifest push would commit.
func (e *env) clusterYAML() string {
	e.t.Helper()
	cf := e.l.ClusterFile
	if e.clusterFile != "" {
		cf = e.clusterFile
	}
	b, err := os.ReadFile(cf)
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}
