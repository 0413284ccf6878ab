package runtime

import (
	"encoding/json"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"

	"github.com/reconcile-dev/reconcile/resources"
)

func basePodSpec() PodSpec {
	return PodSpec{
		Cluster:      "lab",
		Namespace:    "default",
		Deployment:   "my-nginx",
		TemplateHash: "5d4f8b9c7",
		Name:         "my-nginx-5d4f8b9c7-x2b7q",
		Labels:       map[string]string{"run": "my-nginx"},
		Container: resources.Container{
			Name:  "my-nginx",
			Image: "nginx",
			Ports: []resources.ContainerPort{{ContainerPort: 80}},
		},
		ProbeBinary:            "/var/lib/reconcile/bin/reconcile",
		TerminationGracePeriod: 30 * time.Second,
	}
}

func baseLabels() map[string]string {
	return map[string]string{
		"run":              "my-nginx",
		LabelManagedBy:     "reconcile",
		LabelCluster:       "lab",
		LabelNamespace:     "default",
		LabelDeployment:    "my-nginx",
		LabelTemplateHash:  "5d4f8b9c7",
		LabelPod:           "my-nginx-5d4f8b9c7-x2b7q",
		LabelPodIP:         "198.18.1.2",
		LabelPodLabels:     `{"run":"my-nginx"}`,
		LabelContainer:     "my-nginx",
		LabelImage:         "nginx",
		LabelRestartPolicy: "Always",
	}
}

func intp(i int) *int { return &i }

func TestContainerConfig(t *testing.T) {
	ip := netip.MustParseAddr("198.18.1.2")
	wantNet := &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
		"reconcile-pods": {IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: "198.18.1.2"}},
	}}
	baseHost := func() *container.HostConfig {
		return &container.HostConfig{
			NetworkMode:   "reconcile-pods",
			RestartPolicy: container.RestartPolicy{Name: "no"}, // the supervisor restarts it
		}
	}
	baseConfig := func() *container.Config {
		return &container.Config{
			Hostname:     "my-nginx-5d4f8b9c7-x2b7q",
			Image:        "nginx",
			Labels:       baseLabels(),
			Healthcheck:  &container.HealthConfig{Test: []string{"NONE"}},
			ExposedPorts: nat.PortSet{"80/tcp": {}},
			StopTimeout:  intp(30),
		}
	}

	tests := []struct {
		name     string
		spec     func(*PodSpec)
		wantCfg  func(*container.Config)
		wantHost func(*container.HostConfig)
	}{
		{
			name: "seed nginx: no probe disables the image's healthcheck",
		},
		{
			name: "command, args, env, workingDir",
			spec: func(s *PodSpec) {
				s.Container.Command = []string{"/bin/server"}
				s.Container.Args = []string{"--port", "80"}
				s.Container.WorkingDir = "/srv"
				s.Container.Env = []resources.EnvVar{{Name: "A", Value: "1"}, {Name: "EMPTY"}}
				s.ExtraEnv = []string{"MY_NGINX_SERVICE_HOST=198.19.0.10", "MY_NGINX_SERVICE_PORT=80"}
			},
			wantCfg: func(c *container.Config) {
				c.Entrypoint = []string{"/bin/server"}
				c.Cmd = []string{"--port", "80"}
				c.WorkingDir = "/srv"
				c.Env = []string{"A=1", "EMPTY=", "MY_NGINX_SERVICE_HOST=198.19.0.10", "MY_NGINX_SERVICE_PORT=80"}
			},
		},
		{
			// Kubernetes (kubelet's truncatePodHostnameIfNeeded) cuts the
			// hostname to 63 characters, the limit of a DNS label and of
			// sethostname on Linux; the pod keeps its full name.
			name: "pod name over 63 characters is cut for the hostname",
			spec: func(s *PodSpec) { s.Name = strings.Repeat("a", 60) + "-5d4f8b9c7-x2b7q" },
			wantCfg: func(c *container.Config) {
				c.Hostname = strings.Repeat("a", 60) + "-5d"
				c.Labels[LabelPod] = strings.Repeat("a", 60) + "-5d4f8b9c7-x2b7q"
			},
		},
		{
			name: "a cut hostname does not end in - or .",
			spec: func(s *PodSpec) { s.Name = strings.Repeat("a", 61) + ".-5d4f8b9c7-x2b7q" },
			wantCfg: func(c *container.Config) {
				c.Hostname = strings.Repeat("a", 61)
				c.Labels[LabelPod] = strings.Repeat("a", 61) + ".-5d4f8b9c7-x2b7q"
			},
		},
		{
			name: "a 63-character name is kept",
			spec: func(s *PodSpec) { s.Name = strings.Repeat("b", 62) + "-" },
			wantCfg: func(c *container.Config) {
				c.Hostname = strings.Repeat("b", 62) + "-"
				c.Labels[LabelPod] = strings.Repeat("b", 62) + "-"
			},
		},
		{
			name: "args only keep the image's entrypoint",
			spec: func(s *PodSpec) { s.Container.Args = []string{"-g", "daemon off;"} },
			wantCfg: func(c *container.Config) {
				c.Cmd = []string{"-g", "daemon off;"}
			},
		},
		{
			name: "limits and requests",
			spec: func(s *PodSpec) {
				s.Container.Resources = resources.ResourceRequirements{
					Limits:   resources.ResourceList{"cpu": {Raw: "500m"}, "memory": {Raw: "128Mi"}},
					Requests: resources.ResourceList{"cpu": {Raw: "250m"}, "memory": {Raw: "64Mi"}},
				}
			},
			wantHost: func(h *container.HostConfig) {
				h.Resources = container.Resources{
					NanoCPUs:          500_000_000,
					Memory:            128 << 20,
					MemorySwap:        128 << 20,
					CPUShares:         256,
					MemoryReservation: 64 << 20,
				}
			},
		},
		{
			name: "tiny cpu request gets the minimum shares",
			spec: func(s *PodSpec) {
				s.Container.Resources.Requests = resources.ResourceList{"cpu": {Raw: "1m"}}
			},
			wantHost: func(h *container.HostConfig) { h.Resources = container.Resources{CPUShares: 2} },
		},
		{
			name: "http readiness probe on a named port with headers",
			spec: func(s *PodSpec) {
				s.Container.Ports = []resources.ContainerPort{{Name: "http", ContainerPort: 8080}, {Name: "dns", ContainerPort: 53, Protocol: "UDP"}}
				s.Container.ReadinessProbe = &resources.Probe{
					ProbeHandler: resources.ProbeHandler{HTTPGet: &resources.HTTPGetAction{
						Path: "/healthz", Port: resources.FromString("http"),
						HTTPHeaders: []resources.HTTPHeader{{Name: "X-Probe", Value: "1"}},
					}},
					InitialDelaySeconds: 5, TimeoutSeconds: 2, PeriodSeconds: 3, FailureThreshold: 4,
				}
			},
			wantCfg: func(c *container.Config) {
				c.ExposedPorts = nat.PortSet{"8080/tcp": {}, "53/udp": {}}
				c.Healthcheck = &container.HealthConfig{
					Test:        []string{"CMD", "/.reconcile/reconcile", "probe", "--http", "http://198.18.1.2:8080/healthz", "--header", "X-Probe:1", "--timeout", "2s"},
					Interval:    3 * time.Second,
					Timeout:     2 * time.Second,
					StartPeriod: 5 * time.Second,
					Retries:     4,
				}
			},
			wantHost: func(h *container.HostConfig) {
				h.Mounts = []mount.Mount{{Type: "bind", Source: "/var/lib/reconcile/bin/reconcile", Target: "/.reconcile/reconcile", ReadOnly: true}}
			},
		},
		{
			name: "tcp readiness probe with Kubernetes defaults",
			spec: func(s *PodSpec) {
				s.Container.ReadinessProbe = &resources.Probe{ProbeHandler: resources.ProbeHandler{TCPSocket: &resources.TCPSocketAction{Port: resources.FromInt(80)}}}
			},
			wantCfg: func(c *container.Config) {
				c.Healthcheck = &container.HealthConfig{
					Test:     []string{"CMD", "/.reconcile/reconcile", "probe", "--tcp", "198.18.1.2:80", "--timeout", "1s"},
					Interval: 10 * time.Second,
					Timeout:  time.Second,
					Retries:  3,
				}
			},
			wantHost: func(h *container.HostConfig) {
				h.Mounts = []mount.Mount{{Type: "bind", Source: "/var/lib/reconcile/bin/reconcile", Target: "/.reconcile/reconcile", ReadOnly: true}}
			},
		},
		{
			name: "exec readiness probe needs no binary",
			spec: func(s *PodSpec) {
				s.ProbeBinary = ""
				s.Container.ReadinessProbe = &resources.Probe{ProbeHandler: resources.ProbeHandler{Exec: &resources.ExecAction{Command: []string{"cat", "/tmp/ready"}}}, PeriodSeconds: 1}
			},
			wantCfg: func(c *container.Config) {
				c.Healthcheck = &container.HealthConfig{Test: []string{"CMD", "cat", "/tmp/ready"}, Interval: time.Second, Timeout: time.Second, Retries: 3}
			},
		},
		{
			name: "liveness and startup probes go to the supervisor; startup gates readiness",
			spec: func(s *PodSpec) {
				s.Container.Ports = []resources.ContainerPort{{Name: "http", ContainerPort: 8080}}
				s.Container.LivenessProbe = &resources.Probe{ProbeHandler: resources.ProbeHandler{HTTPGet: &resources.HTTPGetAction{Path: "healthz", Port: resources.FromString("http")}}, PeriodSeconds: 2}
				s.Container.StartupProbe = &resources.Probe{ProbeHandler: resources.ProbeHandler{TCPSocket: &resources.TCPSocketAction{Port: resources.FromInt(8080)}}, FailureThreshold: 30}
				s.Container.ReadinessProbe = &resources.Probe{ProbeHandler: resources.ProbeHandler{Exec: &resources.ExecAction{Command: []string{"cat", "/tmp/ready"}}}, PeriodSeconds: 1}
			},
			wantCfg: func(c *container.Config) {
				c.ExposedPorts = nat.PortSet{"8080/tcp": {}}
				c.Labels[LabelProbes] = `{"liveness":{"http":"http://198.18.1.2:8080/healthz","periodSeconds":2,"timeoutSeconds":1,"successThreshold":1,"failureThreshold":3},` +
					`"startup":{"tcp":"198.18.1.2:8080","periodSeconds":10,"timeoutSeconds":1,"successThreshold":1,"failureThreshold":30}}`
				c.Healthcheck = &container.HealthConfig{Test: []string{"CMD", "/.reconcile/reconcile", "probe", "--gate", "/.reconcile/started/ok", "--timeout", "1s", "--exec", "--", "cat", "/tmp/ready"},
					Interval: time.Second, Timeout: time.Second, Retries: 3}
			},
			wantHost: func(h *container.HostConfig) {
				h.Binds = []string{"/run/reconcile/started/my-nginx-5d4f8b9c7-x2b7q_my-nginx:/.reconcile/started:ro"}
				h.Mounts = []mount.Mount{{Type: "bind", Source: "/var/lib/reconcile/bin/reconcile", Target: "/.reconcile/reconcile", ReadOnly: true}}
			},
		},
		{
			name: "a startup probe alone gates readiness on itself",
			spec: func(s *PodSpec) {
				s.Container.StartupProbe = &resources.Probe{ProbeHandler: resources.ProbeHandler{Exec: &resources.ExecAction{Command: []string{"true"}}}, PeriodSeconds: 2}
			},
			wantCfg: func(c *container.Config) {
				c.Labels[LabelProbes] = `{"startup":{"exec":["true"],"periodSeconds":2,"timeoutSeconds":1,"successThreshold":1,"failureThreshold":3}}`
				c.Healthcheck = &container.HealthConfig{Test: []string{"CMD", "/.reconcile/reconcile", "probe", "--gate", "/.reconcile/started/ok"},
					Interval: 2 * time.Second, Timeout: time.Second, Retries: 1}
			},
			wantHost: func(h *container.HostConfig) {
				h.Binds = []string{"/run/reconcile/started/my-nginx-5d4f8b9c7-x2b7q_my-nginx:/.reconcile/started:ro"}
				h.Mounts = []mount.Mount{{Type: "bind", Source: "/var/lib/reconcile/bin/reconcile", Target: "/.reconcile/reconcile", ReadOnly: true}}
			},
		},
		{
			name: "annotations, and our labels win over the template's",
			spec: func(s *PodSpec) {
				s.Labels = map[string]string{"run": "my-nginx", LabelPod: "spoofed"}
				s.Annotations = map[string]string{"note": "x"}
				s.TerminationGracePeriod = 1500 * time.Millisecond
			},
			wantCfg: func(c *container.Config) {
				c.Labels[LabelPodLabels] = `{"reconcile.dev/pod":"spoofed","run":"my-nginx"}`
				c.Labels[LabelAnnotations] = `{"note":"x"}`
				c.StopTimeout = intp(2)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := basePodSpec()
			if tt.spec != nil {
				tt.spec(&spec)
			}
			wantCfg, wantHost := baseConfig(), baseHost()
			if tt.wantCfg != nil {
				tt.wantCfg(wantCfg)
			}
			if tt.wantHost != nil {
				tt.wantHost(wantHost)
			}
			cfg, host, nc, err := containerConfig(spec, ip)
			if err != nil {
				t.Fatal(err)
			}
			assertEqualJSON(t, "config", cfg, wantCfg)
			assertEqualJSON(t, "host config", host, wantHost)
			assertEqualJSON(t, "networking config", nc, wantNet)
		})
	}
}

func TestContainerConfigErrors(t *testing.T) {
	tests := []struct {
		name    string
		spec    func(*PodSpec)
		wantErr string
	}{
		{
			name: "unknown named port",
			spec: func(s *PodSpec) {
				s.Container.Ports = []resources.ContainerPort{{Name: "web", ContainerPort: 80}}
				s.Container.ReadinessProbe = &resources.Probe{ProbeHandler: resources.ProbeHandler{HTTPGet: &resources.HTTPGetAction{Port: resources.FromString("http")}}}
			},
			wantErr: `readinessProbe.httpGet.port: container my-nginx has no port named "http" (named ports: web)`,
		},
		{
			name: "http probe without the binary",
			spec: func(s *PodSpec) {
				s.ProbeBinary = ""
				s.Container.ReadinessProbe = &resources.Probe{ProbeHandler: resources.ProbeHandler{TCPSocket: &resources.TCPSocketAction{Port: resources.FromInt(80)}}}
			},
			wantErr: "readinessProbe needs the reconcile binary on the host, and no path was given",
		},
		{
			name: "probe without handler",
			spec: func(s *PodSpec) {
				s.Container.ReadinessProbe = &resources.Probe{}
			},
			wantErr: "readinessProbe has no handler: give one of exec, httpGet or tcpSocket",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := basePodSpec()
			tt.spec(&spec)
			_, _, _, err := containerConfig(spec, netip.MustParseAddr("198.18.1.2"))
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("err = %v; want %s", err, tt.wantErr)
			}
		})
	}
}

func TestPodName(t *testing.T) {
	seen := map[string]bool{}
	for range 50 {
		n := PodName("my-nginx", "5d4f8b9c7")
		suffix, ok := strings.CutPrefix(n, "my-nginx-5d4f8b9c7-")
		if !ok || len(suffix) != 5 || strings.Trim(suffix, podNameAlphabet) != "" {
			t.Fatalf("PodName = %q; want my-nginx-5d4f8b9c7-<5 of %s>", n, podNameAlphabet)
		}
		seen[n] = true
	}
	if len(seen) < 45 {
		t.Errorf("only %d distinct names in 50", len(seen))
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func assertEqualJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	g, _ := json.MarshalIndent(got, "", "  ")
	w, _ := json.MarshalIndent(want, "", "  ")
	t.Errorf("%s differs\ngot:  %s\nwant: %s", what, g, w)
}
