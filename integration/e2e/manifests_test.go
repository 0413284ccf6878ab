package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// seed reads the seed document's manifests from examples/nginx, unchanged.
func seed(t testing.TB, name string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "examples", "nginx", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func seedDeployment(t *testing.T) string { return seed(t, "run-my-nginx.yaml") }
func seedService(t *testing.T) string    { return seed(t, "nginx-svc.yaml") }

// web is a Deployment of the lab image with a fast readiness probe, so
// rollouts are quick; extraSpec is spliced into spec, env into the container.
func web(name, image string, replicas int, extraSpec, env string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
spec:
  replicas: %[3]d
  selector:
    matchLabels: {app: %[1]s}
%[4]s  template:
    metadata:
      labels: {app: %[1]s}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: web
        image: %[2]s
        imagePullPolicy: IfNotPresent
        ports:
        - {name: http, containerPort: 80}
        readinessProbe:
          httpGet: {path: /healthz, port: http}
          periodSeconds: 1
          timeoutSeconds: 1
          failureThreshold: 1
%[5]s`, name, image, replicas, extraSpec, env)
}

func service(name, selector, extra string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata:
  name: %s
spec:
  selector: {app: %s}
  ports:
  - {name: http, port: 80, targetPort: http}
%s`, name, selector, extra)
}
