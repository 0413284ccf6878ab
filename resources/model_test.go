package resources

import (
	"math"
	"os"
	"testing"
)

func TestQuantity(t *testing.T) {
	tests := []struct {
		raw   string
		milli int64
		value int64
		bad   bool
	}{
		{raw: "500m", milli: 500, value: 1},
		{raw: "0.5", milli: 500, value: 1},
		{raw: "2", milli: 2000, value: 2},
		{raw: "100m", milli: 100, value: 1},
		{raw: "1.5", milli: 1500, value: 2},
		{raw: "128Mi", milli: 128 << 20 * 1000, value: 128 << 20},
		{raw: "1G", milli: 1e12, value: 1e9},
		{raw: "1e9", milli: 1e12, value: 1e9},
		{raw: "1e+09", milli: 1e12, value: 1e9},
		{raw: "1.5Gi", milli: 1610612736000, value: 1610612736},
		{raw: "100k", milli: 1e8, value: 1e5},
		{raw: "1Ki", milli: 1024000, value: 1024},
		{raw: "250u", milli: 1, value: 1},
		{raw: "8Ei", milli: math.MaxInt64, value: math.MaxInt64},
		{raw: "", bad: true},
		{raw: "lots", bad: true},
		{raw: "12XB", bad: true},
		{raw: "1..2", bad: true},
		{raw: "m", bad: true},
		{raw: "1e", bad: true},
		{raw: "1 Gi", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			q, err := ParseQuantity(tt.raw)
			if tt.bad {
				if err == nil {
					t.Fatalf("ParseQuantity(%q) = %v, want an error", tt.raw, q)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if q.MilliValue() != tt.milli || q.Value() != tt.value {
				t.Errorf("MilliValue %d, Value %d; want %d, %d", q.MilliValue(), q.Value(), tt.milli, tt.value)
			}
			b, err := q.MarshalJSON()
			if err != nil || string(b) != `"`+tt.raw+`"` {
				t.Errorf("MarshalJSON = %s, %v", b, err)
			}
		})
	}
}

func TestSelector(t *testing.T) {
	sel := &LabelSelector{
		MatchLabels: map[string]string{"run": "my-nginx"},
		MatchExpressions: []LabelSelectorRequirement{
			{Key: "tier", Operator: "In", Values: []string{"web", "api"}},
			{Key: "env", Operator: "NotIn", Values: []string{"prod"}},
			{Key: "team", Operator: "Exists"},
			{Key: "canary", Operator: "DoesNotExist"},
		},
	}
	if got, want := sel.String(), "!canary,env notin (prod),run=my-nginx,team,tier in (api,web)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	tests := []struct {
		name   string
		labels map[string]string
		want   bool
	}{
		{"all", map[string]string{"run": "my-nginx", "tier": "web", "team": "a"}, true},
		{"other env", map[string]string{"run": "my-nginx", "tier": "api", "team": "a", "env": "dev"}, true},
		{"prod", map[string]string{"run": "my-nginx", "tier": "web", "team": "a", "env": "prod"}, false},
		{"canary", map[string]string{"run": "my-nginx", "tier": "web", "team": "a", "canary": ""}, false},
		{"no team", map[string]string{"run": "my-nginx", "tier": "web"}, false},
		{"wrong tier", map[string]string{"run": "my-nginx", "tier": "db", "team": "a"}, false},
		{"wrong run", map[string]string{"run": "other", "tier": "web", "team": "a"}, false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sel.Matches(tt.labels); got != tt.want {
				t.Errorf("Matches(%v) = %v", tt.labels, got)
			}
		})
	}
	var none *LabelSelector
	if none.Matches(map[string]string{"a": "b"}) || !(&LabelSelector{}).Matches(nil) {
		t.Error("a nil selector must match nothing and an empty one everything")
	}
}

func TestRollingParams(t *testing.T) {
	is := func(v IntOrString) *IntOrString { return &v }
	tests := []struct {
		name             string
		replicas         int32
		strategy         DeploymentStrategy
		surge, unavailab int
	}{
		{"defaults 2", 2, DeploymentStrategy{}, 1, 0},
		{"defaults 10", 10, DeploymentStrategy{}, 3, 2},
		{"defaults 4", 4, DeploymentStrategy{}, 1, 1},
		{"ints", 5, DeploymentStrategy{Type: RollingUpdateStrategy, RollingUpdate: &RollingUpdateStrategyParams{MaxSurge: is(FromInt(2)), MaxUnavailable: is(FromInt(1))}}, 2, 1},
		{"both zero", 3, DeploymentStrategy{Type: RollingUpdateStrategy, RollingUpdate: &RollingUpdateStrategyParams{MaxSurge: is(FromString("0%")), MaxUnavailable: is(FromString("10%"))}}, 0, 1},
		{"recreate", 4, DeploymentStrategy{Type: RecreateStrategy}, 0, 4},
		{"zero replicas", 0, DeploymentStrategy{}, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &Deployment{Spec: DeploymentSpec{Replicas: &tt.replicas, Strategy: tt.strategy}}
			d.Default()
			s, u := d.RollingParams()
			if s != tt.surge || u != tt.unavailab {
				t.Errorf("RollingParams() = %d, %d; want %d, %d", s, u, tt.surge, tt.unavailab)
			}
		})
	}
}

func TestImagePullPolicyDefault(t *testing.T) {
	tests := []struct{ image, want string }{
		{"nginx", "Always"},
		{"nginx:latest", "Always"},
		{"nginx:1.27", "IfNotPresent"},
		{"localhost:5000/nginx", "Always"},
		{"localhost:5000/nginx:1.0", "IfNotPresent"},
		{"nginx@sha256:abc", "IfNotPresent"},
		{"nginx:latest@sha256:abc", "Always"},
	}
	for _, tt := range tests {
		t.Run(tt.image, func(t *testing.T) {
			c := Container{Image: tt.image}
			c.defaults()
			if c.ImagePullPolicy != tt.want {
				t.Errorf("got %s, want %s", c.ImagePullPolicy, tt.want)
			}
		})
	}
}

func TestClusterPodCIDRDefaults(t *testing.T) {
	tests := []struct {
		name  string
		pool  string
		named map[int]string
		want  []string
	}{
		{"in order", "198.18.0.0/16", nil, []string{"198.18.1.0/24", "198.18.2.0/24", "198.18.3.0/24"}},
		{"one named", "198.18.0.0/16", map[int]string{2: "198.18.1.0/24"}, []string{"198.18.2.0/24", "198.18.3.0/24", "198.18.1.0/24"}},
		{"exhausted", "198.18.0.0/23", nil, []string{"198.18.1.0/24", "", ""}},
		{"invalid pool", "nope", nil, []string{"", "", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Cluster{Spec: ClusterSpec{PodCIDR: tt.pool, Nodes: make([]Node, 3)}}
			for i, p := range tt.named {
				c.Spec.Nodes[i].PodCIDR = p
			}
			c.Default()
			c.Default() // idempotent
			for i, n := range c.Spec.Nodes {
				if n.PodCIDR != tt.want[i] {
					t.Errorf("node %d podCIDR = %q, want %q", i, n.PodCIDR, tt.want[i])
				}
			}
		})
	}
}

func TestTemplateHash(t *testing.T) {
	s, err := Load("testdata/seed")
	if err != nil {
		t.Fatal(err)
	}
	d := s.Deployments[0]
	// Pinned: the hash names pods on live hosts, so it must not change
	// between releases for the same template.
	if got := d.TemplateHash(); got != "86b4d79cf6" {
		t.Errorf("TemplateHash() = %q", got)
	}
	if safeEncode("3800858182") != "7d44d9d5d6" {
		t.Errorf("safeEncode = %q", safeEncode("3800858182"))
	}
	before := d.TemplateHash()
	*d.Spec.Replicas = 5
	if d.TemplateHash() != before {
		t.Error("replicas must not change the template hash")
	}
	d.Spec.Template.Spec.Containers[0].Image = "nginx:1.27"
	if d.TemplateHash() == before {
		t.Error("a new image must change the template hash")
	}
}

func TestExposeSeed(t *testing.T) {
	s, err := Load("testdata/seed")
	if err != nil {
		t.Fatal(err)
	}
	svc, err := Expose(s.Deployments[0], ExposeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := RenderService(svc)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/seed/nginx-svc.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("kubectl expose deployment/my-nginx:\n%s\nwant the seed's nginx-svc.yaml:\n%s", got, want)
	}
}

func TestExpose(t *testing.T) {
	s, err := Load("testdata/seed")
	if err != nil {
		t.Fatal(err)
	}
	d := s.Deployments[0]
	tests := []struct {
		name    string
		opts    ExposeOptions
		want    string
		wantErr string
	}{
		{"named with target", ExposeOptions{Name: "web", Port: 8080, TargetPort: 80, Protocol: "TCP"},
			"apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  labels:\n    run: my-nginx\nspec:\n  ports:\n  - port: 8080\n    protocol: TCP\n    targetPort: 80\n  selector:\n    run: my-nginx\n", ""},
		{"same target omitted", ExposeOptions{Port: 80, TargetPort: 80, Protocol: "UDP"},
			"apiVersion: v1\nkind: Service\nmetadata:\n  name: my-nginx\n  labels:\n    run: my-nginx\nspec:\n  ports:\n  - port: 80\n    protocol: UDP\n  selector:\n    run: my-nginx\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc, err := Expose(d, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			got, err := RenderService(svc)
			if err != nil || string(got) != tt.want {
				t.Errorf("got %v\n%s\nwant\n%s", err, got, tt.want)
			}
		})
	}
	noPorts := *d
	noPorts.Spec.Template.Spec.Containers = []Container{{Name: "x", Image: "x"}}
	if _, err := Expose(&noPorts, ExposeOptions{}); err == nil || err.Error() != "couldn't find port via --port flag or introspection: give --port" {
		t.Errorf("no ports: %v", err)
	}
}
