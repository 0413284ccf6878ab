package e2e

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

const cfgSecret = "s3cr3t-plaintext-Zq9"

func cfgManifests(color, greeting string) []string {
	cms := fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata: {name: app-config}
data:
  color: %s
---
apiVersion: v1
kind: ConfigMap
metadata: {name: env-config}
data:
  GREETING: %s
---
apiVersion: v1
kind: Secret
metadata: {name: db}
stringData:
  password: %s
`, color, greeting, cfgSecret)
	volumes := `      volumes:
      - {name: conf, configMap: {name: app-config}}
      - {name: secret, secret: {secretName: db, defaultMode: 0400}}
      - {name: scratch, emptyDir: {medium: Memory, sizeLimit: 1Mi}}
`
	mounts := `        volumeMounts:
        - {name: conf, mountPath: /etc/app}
        - {name: secret, mountPath: /etc/secret}
        - {name: scratch, mountPath: /scratch}
`
	byEnv := web("cfg", "nginx:1.0", 1, "", `        env:
        - name: GREETING
          valueFrom: {configMapKeyRef: {name: env-config, key: GREETING}}
        - name: PASSWORD
          valueFrom: {secretKeyRef: {name: db, key: password}}
        - name: POD
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
        - name: HELLO
          value: "$(GREETING) from $(POD)"
`+mounts)
	byFile := web("files", "nginx:1.0", 1, "", mounts)
	withVolumes := func(d string) string {
		return strings.Replace(d, "      containers:\n", volumes+"      containers:\n", 1)
	}
	return []string{cms, withVolumes(byEnv), withVolumes(byFile)}
}

// A pod reads a ConfigMap and a Secret by env and by file; a change in
// git updates the mounted file in place on the next sync (same
// container, not restarted) and rolls the Deployment that takes the
// data by env; the Secret's files are on tmpfs, and no output of any
// command shows the Secret's value.
func TestConfigMapSecretEnvAndFiles(t *testing.T) {
	e := newEnv(t)
	var outputs []string
	run := func(code int, args ...string) result {
		r := e.mustRun(code, args...)
		outputs = append(outputs, r.stdout, r.stderr)
		return r
	}
	e.push(cfgManifests("blue", "hello")...)
	run(0, e.fromGit("apply")...)
	run(0, e.fromGit("diff")...)
	run(0, e.fromGit("render")...)
	run(0, e.fromGit("get", "pods", "-o", "yaml")...)
	for _, kind := range []string{"cm", "secrets", "ns"} {
		for _, format := range []string{"", "wide", "json", "yaml", "name"} {
			run(0, e.fromGit("get", kind, "-A", "-o", format)...)
		}
	}
	if r := run(0, e.fromGit("get", "secret", "db", "-o", "yaml")...); !strings.Contains(r.stdout, "password: <redacted>") {
		t.Errorf("get secret db -o yaml does not list the key masked:\n%s", r.stdout)
	}
	if r := run(0, e.fromGit("get", "cm")...); !strings.Contains(r.stdout, "app-config   1      <unknown>") {
		t.Errorf("get cm:\n%s", r.stdout)
	}

	one := func(app string) pod {
		t.Helper()
		ps := e.pods("app=" + app)
		if len(ps) != 1 {
			t.Fatalf("%s: %d pods", app, len(ps))
		}
		return ps[0]
	}
	inPod := func(p pod, args ...string) string {
		t.Helper()
		return strings.TrimSpace(e.mustExec(p.Spec.NodeName, append([]string{"docker", "exec", p.Metadata.Name, "/podserver"}, args...)...))
	}
	cfg, files := one("cfg"), one("files")
	if got := inPod(cfg, "printenv", "GREETING", "PASSWORD", "HELLO"); got != "hello\n"+cfgSecret+"\nhello from "+cfg.Metadata.Name {
		t.Errorf("env = %q", got)
	}
	if got := inPod(cfg, "cat", "/etc/app/color"); got != "blue" {
		t.Errorf("/etc/app/color = %q", got)
	}
	if got := inPod(cfg, "cat", "/etc/secret/password"); got != cfgSecret {
		t.Errorf("/etc/secret/password = %q", got)
	}
	// The Secret's directory on the host: tmpfs, the declared mode.
	fsType := e.mustExec(cfg.Spec.NodeName, "sh", "-c", "stat -f -c %T /run/reconcile/volumes/*/default.cfg.secret && stat -L -c %a /run/reconcile/volumes/*/default.cfg.secret/password")
	if fsType != "tmpfs\n400\n" {
		t.Errorf("secret volume on the host: %q, want tmpfs and mode 400", fsType)
	}
	started := func(p pod) string {
		return e.mustExec(p.Spec.NodeName, "docker", "inspect", "-f", "{{.Id}} {{.State.StartedAt}}", p.Metadata.Name)
	}
	filesBefore := started(files)

	e.push(cfgManifests("green", "bonjour")...)
	r := run(1, e.fromGit("diff")...) // exit 1: there are changes, as kubectl diff
	if !strings.Contains(r.stdout, "ConfigMap env-config changed (used by env)") {
		t.Errorf("diff does not say why cfg rolls:\n%s", r.stdout)
	}
	if !regexp.MustCompile(`(?m)^~ ConfigMap default/app-config on node-.*: 1 key, 1 changed \(color\)$`).MatchString(r.stdout) {
		t.Errorf("diff does not summarize the mounted ConfigMap's change:\n%s", r.stdout)
	}
	run(0, e.fromGit("sync", "--once")...)

	// The file-only consumer: the same container, the file updated.
	eventually(t, 30*time.Second, func() error {
		if got := inPod(files, "cat", "/etc/app/color"); got != "green" {
			return fmt.Errorf("/etc/app/color = %q", got)
		}
		return nil
	})
	if after := started(files); after != filesBefore {
		t.Errorf("the files pod was restarted: %q, was %q", after, filesBefore)
	}
	// The env consumer rolled: a new pod with the new value.
	cfg2 := one("cfg")
	if cfg2.Metadata.Name == cfg.Metadata.Name {
		t.Errorf("cfg did not roll (pod %s)", cfg2.Metadata.Name)
	}
	if got := inPod(cfg2, "printenv", "GREETING"); got != "bonjour" {
		t.Errorf("GREETING after the roll = %q", got)
	}
	run(0, e.fromGit("get", "pods", "-o", "json")...)
	for i, out := range outputs {
		if strings.Contains(out, cfgSecret) {
			t.Errorf("output %d shows the Secret's value:\n%s", i, out)
		}
	}
}

// emptyDir is shared between a pod's containers; hostPath mounts only
// what the Cluster's allow-list allows.
func TestEmptyDirAndHostPath(t *testing.T) {
	e := newEnv(t)
	clusterYAML, err := os.ReadFile(e.l.ClusterFile)
	if err != nil {
		t.Fatal(err)
	}
	cluster := strings.Replace(string(clusterYAML), "spec:\n", "spec:\n  hostPathAllowList: [/srv/shared]\n", 1)
	dep := web("share", "nginx:1.0", 1, "", `        volumeMounts:
        - {name: data, mountPath: /data}
        - {name: host, mountPath: /host}
      - name: side
        image: nginx:1.0
        imagePullPolicy: IfNotPresent
        command: ["/podserver", "serve", "-listen", ":8081"]
        volumeMounts:
        - {name: data, mountPath: /data}
      volumes:
      - {name: data, emptyDir: {}}
      - {name: host, hostPath: {path: /srv/shared/web, type: DirectoryOrCreate}}
`)
	e.pushWith(cluster, dep)
	e.mustRun(0, e.fromGit("apply")...)
	ps := e.pods("app=share")
	if len(ps) != 1 {
		t.Fatalf("%d pods", len(ps))
	}
	p := ps[0]
	e.mustExec(p.Spec.NodeName, "docker", "exec", p.Metadata.Name+"_side", "/podserver", "write", "/data/note", "from-side")
	eventually(t, 30*time.Second, func() error {
		out, err := e.exec(p.Spec.NodeName, "docker", "exec", p.Metadata.Name, "/podserver", "cat", "/data/note")
		if err != nil || strings.TrimSpace(out) != "from-side" {
			return fmt.Errorf("/data/note in the first container: %q %v", out, err)
		}
		return nil
	})
	e.mustExec(p.Spec.NodeName, "sh", "-c", "echo on-host > /srv/shared/web/h")
	if out := e.mustExec(p.Spec.NodeName, "docker", "exec", p.Metadata.Name, "/podserver", "cat", "/host/h"); strings.TrimSpace(out) != "on-host" {
		t.Errorf("hostPath file in the pod: %q", out)
	}
	// Outside the allow-list: refused before any host is touched.
	e.pushWith(cluster, strings.Replace(dep, "/srv/shared/web", "/etc", 1))
	r := e.mustRun(3, e.fromGit("apply")...)
	if !strings.Contains(r.stderr, `"/etc" is outside the Cluster's spec.hostPathAllowList`) {
		t.Errorf("refusal:\n%s", r)
	}
}

// A hostPath the CLI allows as written but that is a symlink out of the
// allow-list on a host is refused by that host's agent: only the pod that
// mounts it fails, reported as its problem; the host's network apply and
// its other pods go on.
func TestHostPathRefusedOnHostFailsOnlyThePod(t *testing.T) {
	e := newEnv(t)
	clusterYAML, err := os.ReadFile(e.l.ClusterFile)
	if err != nil {
		t.Fatal(err)
	}
	cluster := strings.Replace(string(clusterYAML), "spec:\n", "spec:\n  hostPathAllowList: [/srv/shared]\n", 1)
	node := e.l.Hosts[0].Name
	link := "/srv/shared/e2e-refused-link"
	e.mustExec(node, "sh", "-c", "mkdir -p /srv/shared && ln -sfn /etc "+link)
	t.Cleanup(func() { e.exec(node, "rm", "-f", link) })
	pinned := func(d string) string {
		return strings.Replace(d, "      containers:\n", "      nodeSelector: {kubernetes.io/hostname: "+node+"}\n      containers:\n", 1)
	}
	bad := pinned(web("linked", "nginx:1.0", 1, "", `        volumeMounts:
        - {name: host, mountPath: /host}
      volumes:
      - {name: host, hostPath: {path: `+link+`, type: Directory}}
`))
	good := pinned(web("plain", "nginx:1.0", 1, "", ""))
	e.pushWith(cluster, bad, good)
	r := e.mustRun(5, e.fromGit("apply")...)
	if !strings.Contains(r.stderr, "linked-") || !strings.Contains(r.stderr, "hostPath "+link+": resolves to /etc, outside the Cluster's hostPathAllowList; refused") {
		t.Errorf("apply does not report the pod's refused hostPath:\n%s", r)
	}
	if strings.Contains(r.stderr, "unreachable") || strings.Contains(r.stdout, "unreachable") {
		t.Errorf("the host was failed for a pod's hostPath:\n%s", r)
	}
	if ps := e.pods("app=plain"); len(ps) != 1 || !ps[0].ready() {
		t.Errorf("the other pod on %s: %+v", node, ps)
	}
	if out := e.mustExec(node, "docker", "ps", "-a", "--format", "{{.Names}}"); strings.Contains(out, "linked-") {
		t.Errorf("a container of the refused pod exists:\n%s", out)
	}
}

// An immutable ConfigMap on the hosts cannot change, as on Kubernetes:
// the run is refused at the manifest's line before anything changes; the
// pods' mounted file keeps the old data.
func TestImmutableConfigMapRefused(t *testing.T) {
	e := newEnv(t)
	cm := func(color string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: frozen}\nimmutable: true\ndata:\n  color: " + color + "\n"
	}
	dep := web("frozen", "nginx:1.0", 1, "", `        volumeMounts:
        - {name: conf, mountPath: /etc/app}
      volumes:
      - {name: conf, configMap: {name: frozen}}
`)
	e.push(cm("blue"), dep)
	e.mustRun(0, e.fromGit("apply")...)
	ps := e.pods("app=frozen")
	if len(ps) != 1 {
		t.Fatalf("%d pods", len(ps))
	}
	e.push(cm("green"), dep)
	for _, verb := range []string{"diff", "apply"} {
		r := e.mustRun(3, e.fromGit(verb)...)
		if !regexp.MustCompile(`\S+\.yaml:5: ConfigMap/frozen: data: the hosts hold other data: field is immutable; delete and recreate, or change its name`).MatchString(r.stderr) {
			t.Errorf("%s:\n%s", verb, r)
		}
	}
	p := e.pods("app=frozen")
	if len(p) != 1 || p[0].Metadata.Name != ps[0].Metadata.Name {
		t.Errorf("pods changed: %+v", p)
	}
	if out := e.mustExec(p[0].Spec.NodeName, "docker", "exec", p[0].Metadata.Name, "/podserver", "cat", "/etc/app/color"); strings.TrimSpace(out) != "blue" {
		t.Errorf("/etc/app/color = %q after the refused run", out)
	}
}
