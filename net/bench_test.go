package net

import (
	"context"
	"strconv"
	"testing"
)

// The idle pass and a one-Service change at the scale of issue 14: 2,000
// Services × 3 endpoints (about 30k rules), in a throwaway namespace with
// the real iptables. Run with
//
//	go test -run '^$' -bench VIP -benchtime 10x ./net
func benchHost(b *testing.B, ns string) NodeConfig { return benchHostN(b, ns, 2000) }

func benchHostN(b *testing.B, ns string, services int) NodeConfig {
	needRoot(b)
	newHost(b, ns)
	cfg := manyServices(services, 3)
	dir := b.TempDir()
	saved := ownedDirs
	ownedDirs = append(append([]string(nil), ownedDirs...), dir)
	b.Cleanup(func() { ownedDirs = saved })
	cfg.StateFile = dir + "/state.json"
	applyIn(b, ns, cfg, false)
	return cfg
}

func BenchmarkVIPIdleStatus(b *testing.B) { benchIdle(b, 2000) }

// The floor of the idle pass: the same host without Services.
func BenchmarkVIPIdleStatusNoServices(b *testing.B) { benchIdle(b, 0) }

func benchIdle(b *testing.B, services int) {
	const ns = "rcntest-bench-idle"
	cfg := benchHostN(b, ns, services)
	ctx := context.Background()
	for b.Loop() {
		var st *Applied
		var err error
		inNetns(b, ns, func() { st, err = Status(ctx, cfg.StateFile) })
		if err != nil || len(st.Drift) != 0 {
			b.Fatalf("status: %v, drift %v", err, st.Drift)
		}
	}
}

func BenchmarkVIPOneServiceChange(b *testing.B) {
	const ns = "rcntest-bench-change"
	cfg := benchHost(b, ns)
	next := cfg
	next.Services = append([]Service(nil), cfg.Services...)
	s := next.Services[1000]
	s.Ports = []ServicePort{s.Ports[0]}
	s.Ports[0].Endpoints = append([]Endpoint(nil), s.Ports[0].Endpoints[:2]...)
	next.Services[1000] = s
	i := 0
	for b.Loop() {
		c := cfg
		if i%2 == 0 {
			c = next
		}
		i++
		if res := applyIn(b, ns, c, false); len(res.Changes) == 0 {
			b.Fatal("no change applied")
		}
	}
}

// The lab bench's one-Service change: a port, so the dispatch chain of
// 2,000 rules changes in one rule too.
func BenchmarkVIPOnePortChange(b *testing.B) {
	const ns = "rcntest-bench-port"
	cfg := benchHost(b, ns)
	next := cfg
	next.Services = append([]Service(nil), cfg.Services...)
	s := next.Services[7]
	s.Ports = append([]ServicePort(nil), s.Ports...)
	s.Ports[0].Port = 8080
	next.Services[7] = s
	i := 0
	for b.Loop() {
		c := cfg
		if i%2 == 0 {
			c = next
		}
		i++
		if res := applyIn(b, ns, c, false); len(res.Changes) == 0 {
			b.Fatal("no change applied")
		}
	}
}

// The idle pass right after someone else changed a rule (here: a chain
// that is not ours): the generation moved, so it reads and checks every
// rule once.
func BenchmarkVIPStatusAfterForeignChange(b *testing.B) {
	const ns = "rcntest-bench-foreign"
	cfg := benchHost(b, ns)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		run(b, "ip", "netns", "exec", ns, "iptables", "-N", "FOREIGN-"+strconv.Itoa(i))
		b.StartTimer()
		var st *Applied
		var err error
		inNetns(b, ns, func() { st, err = Status(ctx, cfg.StateFile) })
		if err != nil || len(st.Drift) != 0 {
			b.Fatalf("status: %v, drift %v", err, st.Drift)
		}
	}
}
