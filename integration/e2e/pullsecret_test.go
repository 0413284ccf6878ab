package e2e

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/registry"

	"github.com/reconcile-dev/reconcile/integration/lab"
)

// pulledApp is a Deployment of image from the test's registry, on the
// node that runs it (the registry is on that host's loopback); secret
// names its imagePullSecret, none when empty.
func pulledApp(image, node, secret string) string {
	extra := "      nodeSelector: {kubernetes.io/hostname: " + node + "}\n"
	if secret != "" {
		extra += "      imagePullSecrets: [{name: " + secret + "}]\n"
	}
	return strings.Replace(web("pulled", image, 1, "", ""), "      terminationGracePeriodSeconds: 2\n", "      terminationGracePeriodSeconds: 2\n"+extra, 1)
}

// regcred is a plain (not SOPS-encrypted) dockerconfigjson Secret.
func regcred(registryAddr, user, password string) string {
	return `apiVersion: v1
kind: Secret
metadata: {name: regcred}
type: kubernetes.io/dockerconfigjson
stringData:
  .dockerconfigjson: '{"auths": {"` + registryAddr + `": {"username": "` + user + `", "password": "` + password + `"}}}'
`
}

func randomHex(t *testing.T) string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// imagePullSecrets against a real registry: a Docker Registry API v2
// with basic auth on node-1's loopback, serving the lab's podserver image.
// Without a secret the pod is refused (ErrImagePull/ImagePullBackOff in
// get pods); with the Secret it runs and answers; changing only the
// Secret plans nothing; a wrong password fails the next pull with
// ErrImagePull, and the next pass with the right one pulls. No output of
// any command, no container's inspect and no file reconcile keeps on the
// host holds the password.
func TestPullSecretFromPrivateRegistry(t *testing.T) {
	e := newEnv(t)
	const node, user = "node-1", "puller"
	password, wrong := "pw-"+randomHex(t), "wrong-"+randomHex(t)

	var h lab.Host
	for _, x := range e.l.Hosts {
		if x.Name == node {
			h = x
		}
	}
	save, err := e.exec(node, "docker", "save", lab.PodserverImage)
	if err != nil {
		t.Fatalf("docker save: %v", err)
	}
	reg := startRegistry(t, h.NetNS, []byte(save), user, password, "app:v1", "app:v2")
	v1, v2 := reg.addr+"/app:v1", reg.addr+"/app:v2"
	t.Cleanup(func() {
		e.push(web("solo", "nginx:1.0", 1, "", ""))
		if r := e.run(e.fromGit("apply")...); r.code != 0 {
			t.Errorf("cleanup apply: %s", r)
		}
		// Only the tags this test pulled: the image is the lab's own.
		for _, img := range []string{v1, v2} {
			e.exec(node, "docker", "rmi", img)
		}
	})

	var outputs []string
	run := func(code int, args ...string) result {
		t.Helper()
		r := e.mustRun(code, args...)
		outputs = append(outputs, r.stdout, r.stderr)
		return r
	}
	podIP := func() string {
		t.Helper()
		for _, p := range e.pods("app=pulled") {
			if p.ready() {
				return p.Status.PodIP
			}
		}
		t.Fatal("no ready pod of pulled")
		return ""
	}

	{
		t.Log("step: without a secret")
		e.push(pulledApp(v1, node, ""))
		r := run(5, e.fromGit("apply")...)
		if !strings.Contains(r.stderr, "ErrImagePull") || !strings.Contains(r.stderr, v1) {
			t.Errorf("apply without a pull secret does not say ErrImagePull for %s:\n%s", v1, r.stderr)
		}
		out := run(0, e.fromGit("get", "pods", "-l", "app=pulled")...).stdout
		if !strings.Contains(out, "ImagePullBackOff") && !strings.Contains(out, "ErrImagePull") {
			t.Errorf("get pods does not show the refused pull:\n%s", out)
		}
		if got := reg.seen(); got != "none" {
			t.Errorf("registry saw credentials %q; want none", got)
		}
	}

	secret := regcred(reg.addr, user, password)
	{
		t.Log("step: with the secret")
		e.push(secret, pulledApp(v1, node, "regcred"))
		r := run(0, e.fromGit("apply")...)
		if !strings.Contains(r.stderr, "plain text") {
			t.Errorf("apply of a plain Secret does not warn:\n%s", r.stderr)
		}
		if got := reg.seen(); !strings.Contains(got, "ok") || strings.Contains(got, "bad") {
			t.Errorf("registry saw credentials %q; want the right ones", got)
		}
		ip := podIP()
		out, err := e.getFromHost(node, "http://"+ip+"/", 1)
		if err != nil || !strings.Contains(out, "hostname=pulled-") {
			t.Errorf("the pulled pod at %s does not answer: %v %q", ip, err, out)
		}
		for _, args := range [][]string{
			e.fromGit("diff"), e.fromGit("apply", "--dry-run"), e.fromGit("apply", "--dry-run", "-o", "json"),
			e.fromGit("render"), e.fromGit("get", "secret", "regcred", "-o", "yaml"), e.fromGit("get", "secrets"),
			e.fromGit("get", "pods", "-o", "json"), e.fromGit("get", "deploy", "pulled", "-o", "yaml"),
			e.fromGit("logs", "deploy/pulled"), e.fromGit("rollout", "history", "deploy/pulled"), e.fromGit("validate"),
		} {
			run(0, args...)
		}
	}

	{
		t.Log("step: changing only the secret rolls nothing")
		before := podIP()
		e.push(regcred(reg.addr, user, wrong), pulledApp(v1, node, "regcred"))
		r := run(0, e.fromGit("diff", "-o", "json")...)
		if strings.Contains(r.stdout, `"create"`) || strings.Contains(r.stdout, `"delete"`) {
			t.Errorf("diff plans pod changes for a changed pull secret:\n%s", r.stdout)
		}
		run(0, e.fromGit("apply")...)
		if after := podIP(); after != before {
			t.Errorf("the pod changed (%s -> %s) for a changed pull secret", before, after)
		}
	}

	{
		t.Log("step: a wrong password fails the next pull")
		e.push(regcred(reg.addr, user, wrong), pulledApp(v2, node, "regcred"))
		r := run(5, e.fromGit("apply")...)
		if !strings.Contains(r.stderr, "ErrImagePull") || !strings.Contains(r.stderr, v2) {
			t.Errorf("apply with a wrong password does not say ErrImagePull for %s:\n%s", v2, r.stderr)
		}
		out := run(0, e.fromGit("get", "pods", "-l", "app=pulled")...).stdout
		if !strings.Contains(out, "ImagePullBackOff") && !strings.Contains(out, "ErrImagePull") {
			t.Errorf("get pods does not show the refused pull:\n%s", out)
		}
		if got := reg.seen(); !strings.Contains(got, "bad:"+user) || strings.Contains(got, "ok") {
			t.Errorf("registry saw credentials %q; want the wrong password", got)
		}
	}

	{
		t.Log("step: the next pass pulls with the fixed secret")
		e.push(secret, pulledApp(v2, node, "regcred"))
		run(0, e.fromGit("sync", "--once")...)
		for _, p := range e.pods("app=pulled") {
			if img := p.Status.ContainerStatuses[0].Image; img != v2 || !p.ready() {
				t.Errorf("pod %s: %s ready=%v; want %s ready", p.Metadata.Name, img, p.ready(), v2)
			}
		}
		if got := reg.seen(); !strings.Contains(got, "ok") {
			t.Errorf("registry saw credentials %q; want the right ones", got)
		}
	}

	// Where the credentials could leak on the host: the containers'
	// configs and labels, and the files reconcile keeps.
	inspect := e.mustExec(node, "sh", "-c", "docker inspect $(docker ps -aq)")
	disk, _ := e.exec(node, "sh", "-c", "grep -rlF -e '"+password+"' -e '"+wrong+"' /var/lib/reconcile /run/reconcile /var/lib/docker/containers /var/lib/docker/image 2>/dev/null; true")
	if strings.TrimSpace(disk) != "" {
		t.Errorf("files on %s hold a password: %s", node, disk)
	}
	outputs = append(outputs, inspect)

	xAuth, _ := registry.EncodeAuthConfig(registry.AuthConfig{Username: user, Password: password, ServerAddress: reg.addr})
	plain := map[string]string{
		"the password":             password,
		"the wrong password":       wrong,
		"the credentials (base64)": base64.StdEncoding.EncodeToString([]byte(user + ":" + password)),
		"the X-Registry-Auth":      xAuth,
	}
	for i, out := range outputs {
		for what, s := range plain {
			if strings.Contains(out, s) {
				t.Errorf("output %d holds %s:\n%s", i, what, out)
			}
		}
	}
}
