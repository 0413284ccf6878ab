package net

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

func TestChangedServices(t *testing.T) {
	base := manyServices(4, 2)
	edit := func(f func(c *NodeConfig)) NodeConfig {
		c := base
		c.Services = slices.Clone(base.Services)
		for i := range c.Services {
			c.Services[i].Ports = slices.Clone(c.Services[i].Ports)
		}
		f(&c)
		return c
	}
	cases := []struct {
		name string
		next NodeConfig
		want []string // nil: every Service
	}{
		{"same", base, []string{}},
		{"an endpoint", edit(func(c *NodeConfig) { c.Services[1].Ports[0].Endpoints = c.Services[1].Ports[0].Endpoints[:1] }), []string{"default/svc-001"}},
		{"a port", edit(func(c *NodeConfig) { c.Services[2].Ports[0].Port = 8080 }), []string{"default/svc-002"}},
		{"added", edit(func(c *NodeConfig) {
			c.Services = append(c.Services, Service{Namespace: "shop", Name: "new", ClusterIP: "198.19.9.9"})
		}), []string{"shop/new"}},
		{"removed", edit(func(c *NodeConfig) { c.Services = c.Services[1:] }), []string{"default/svc-000"}},
		{"order only", edit(func(c *NodeConfig) { slices.Reverse(c.Services) }), []string{}},
		{"files differ", edit(func(c *NodeConfig) { c.Files = []File{{Path: "/x"}} }), []string{}},
		{"the pod network", edit(func(c *NodeConfig) { c.ClusterPodCIDR = "198.18.0.0/15" }), nil},
		{"a name twice", edit(func(c *NodeConfig) { c.Services = append(c.Services, c.Services[0]) }), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := changedServices(base, tc.next)
			if tc.want == nil {
				if got != nil {
					t.Fatalf("got %v, want every Service", got)
				}
				return
			}
			var names []string
			for k := range got {
				names = append(names, k)
			}
			slices.Sort(names)
			if got == nil || !slices.Equal(names, tc.want) {
				t.Fatalf("got %v (nil: %v), want %v", names, got == nil, tc.want)
			}
		})
	}
}

// The partial render finds exactly the changes, chains to write and
// stale chains of the full render, and cuts the same restore, after any
// sequence of changes (mutate, partial_test.go).
func TestPartialRenderDiffsLikeFull(t *testing.T) {
	cfg := manyServices(30, 2)
	r := rand.New(rand.NewPCG(20261204, 0))
	next := 0
	for step := range 300 {
		prev := clone(cfg)
		what := mutate(r, &cfg, &next)
		sel := changedServices(prev, cfg)
		for _, tbl := range []struct {
			name   string
			render func(NodeConfig, []svcPort) *table
		}{{"filter", filterTable}, {"nat", natTable}} {
			fullLive := tbl.render(prev, servicePorts(prev)).live()
			fullWant := tbl.render(cfg, servicePorts(cfg)).live()
			partLive := tbl.render(prev, servicePortsOf(prev, sel)).live()
			partWant := tbl.render(cfg, servicePortsOf(cfg, sel)).live()
			c1, w1, s1 := diffTable(tbl.name, fullWant, fullLive)
			c2, w2, s2 := diffTable(tbl.name, partWant, partLive)
			if !reflect.DeepEqual(c1, c2) || !slices.Equal(w1, w2) || !slices.Equal(s1, s2) {
				t.Fatalf("step %d (%s), %s, selection %v:\nfull: %v write %v stale %v\npartial: %v write %v stale %v",
					step, what, tbl.name, sel, c1, w1, s1, c2, w2, s2)
			}
			if len(c1) == 0 {
				continue
			}
			if a, b := renderPartial(tbl.name, fullWant, fullLive, w1, s1), renderPartial(tbl.name, partWant, partLive, w2, s2); string(a) != string(b) {
				t.Fatalf("step %d (%s), %s: restores differ:\n%s\nvs\n%s", step, what, tbl.name, a, b)
			}
		}
	}
}

// clone copies c's Services deep enough that mutate's edits of the copy
// do not reach it.
func clone(c NodeConfig) NodeConfig {
	c.Services = slices.Clone(c.Services)
	for i := range c.Services {
		s := &c.Services[i]
		s.Ports = slices.Clone(s.Ports)
		for j := range s.Ports {
			s.Ports[j].Endpoints = slices.Clone(s.Ports[j].Endpoints)
		}
		s.LoadBalancerIPs, s.SourceRanges = slices.Clone(s.LoadBalancerIPs), slices.Clone(s.SourceRanges)
	}
	return c
}

// Every NodeConfig field but Services and renderInputs is set to
// something; the render must not change. A render that starts reading
// another field must add it to renderInputs.
func TestRenderInputs(t *testing.T) {
	c := renderCases[len(renderCases)-1].cfg
	for _, tc := range renderCases {
		if len(tc.cfg.Services) > len(c.Services) {
			c = tc.cfg
		}
	}
	want := string(RenderFilter(c)) + string(RenderNAT(c))
	v := reflect.ValueOf(&c).Elem()
	for i := range v.NumField() {
		name := v.Type().Field(i).Name
		if name == "Services" || name == "ClusterPodCIDR" {
			continue
		}
		f := v.Field(i)
		saved := reflect.New(f.Type()).Elem()
		saved.Set(f)
		fill(f)
		if got := string(RenderFilter(c)) + string(RenderNAT(c)); got != want {
			t.Errorf("the render reads NodeConfig.%s: add it to renderInputs (changed.go)", name)
		}
		f.Set(saved)
	}
}

// fill sets v to a value other than its zero: a string "x", a number 7,
// true, a slice of one filled element, a pointer to a filled value.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("x" + v.String())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(v.Int() + 7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(v.Uint() + 7)
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Slice:
		e := reflect.New(v.Type().Elem()).Elem()
		fill(e)
		v.Set(reflect.Append(v, e))
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(p.Elem())
		v.Set(p)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Field(i).CanSet() {
				fill(v.Field(i))
			}
		}
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
	default:
		panic(fmt.Sprintf("fill: %s", v.Kind()))
	}
}
