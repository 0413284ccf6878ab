package net

import (
	"crypto/sha256"
	"encoding/base32"

	"math"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Chains we own. Every name starts with chainPrefix; per-service chains carry
// a hash so they fit iptables' 28-character limit
// ("RECONCILE-SVC-" is 14 characters, which leaves 14 for the hash).
const (
	chainPrefix      = "RECONCILE-"
	chainServices    = "RECONCILE-SERVICES"
	chainNodePorts   = "RECONCILE-NODEPORTS"
	chainPostrouting = "RECONCILE-POSTROUTING"
	chainMarkMasq    = "RECONCILE-MARK-MASQ"
	chainForward     = "RECONCILE-FORWARD"
	svcChainPrefix   = "RECONCILE-SVC-"
	sepChainPrefix   = "RECONCILE-SEP-"
	maxChainName     = 28

	// masqMark is the packet mark bit that asks RECONCILE-POSTROUTING to
	// masquerade. kube-proxy uses 0x4000; a different bit keeps the two apart.
	masqMark = "0x2000/0x2000"

	defaultAffinityTimeout = 10800
)

// The rules are written exactly as `iptables-save` prints them back, so
// drift detection can compare our rendering with the live table line by line.

// RenderNAT returns the iptables-restore input for our chains in table nat.
func RenderNAT(c NodeConfig) []byte { return natTable(c, servicePorts(c)).render("nat", nil) }

// RenderFilter returns the iptables-restore input for our chains in table filter.
func RenderFilter(c NodeConfig) []byte { return filterTable(c, servicePorts(c)).render("filter", nil) }

type table struct {
	chains []string
	rules  []string
	of     []string // the chain of each rule
}

func (t *table) chain(name string) { t.chains = append(t.chains, name) }

func (t *table) rule(chain string, args ...string) {
	t.rules = append(t.rules, "-A "+chain+" "+strings.Join(args, " "))
	t.of = append(t.of, chain)
}

// live is t as parseTable reads it back from iptables-save once restored:
// the agent compares and cuts partial restores from it without printing
// 30k rules and parsing them again.
func (t *table) live() liveTable {
	lt := liveTable{chains: make(map[string]bool, len(t.chains)), rules: make(map[string][]string, len(t.chains))}
	for _, ch := range t.chains {
		lt.chains[ch] = true
	}
	for i, r := range t.rules {
		lt.rules[t.of[i]] = append(lt.rules[t.of[i]], r)
	}
	return lt
}

func (t *table) render(name string, stale []string) []byte {
	var b strings.Builder
	b.Grow(64 * (len(t.chains) + len(t.rules)))
	b.WriteString("*" + name + "\n")
	for _, ch := range t.chains {
		b.WriteString(":" + ch + " - [0:0]\n")
	}
	// Declaring a stale chain flushes it under --noflush, so it holds no
	// rules (and no references) by the time it is deleted below.
	for _, ch := range stale {
		b.WriteString(":" + ch + " - [0:0]\n")
	}
	for _, r := range t.rules {
		b.WriteString(r + "\n")
	}
	for _, ch := range stale {
		b.WriteString("-X " + ch + "\n")
	}
	b.WriteString("COMMIT\n")
	return []byte(b.String())
}

// svcPort is one service port with everything the renderers need.
type svcPort struct {
	svc      *Service
	port     *ServicePort
	proto    string // tcp or udp
	name     string // namespace/name:port, shown in comments
	chain    string
	eps      []Endpoint
	seps     []string // chain per endpoint, same order as eps
	affinity int      // seconds; 0 = no affinity
	ext, fw  string   // chains for traffic from outside (loadbalancer.go)
	// own: render this port's own chains (its SVC, SEP, EXT and FW
	// chains), not only its rules in the shared ones. Always, but in the
	// partial render of a one-Service change (changed.go).
	own bool
}

func servicePorts(c NodeConfig) []svcPort { return servicePortsOf(c, nil) }

// servicePortsOf is servicePorts with own set for the Services in sel
// only (nil: every Service); the others skip their endpoint chains' names.
func servicePortsOf(c NodeConfig, sel selection) []svcPort {
	svcs := make([]*Service, 0, len(c.Services))
	for i := range c.Services {
		svcs = append(svcs, &c.Services[i])
	}
	sort.SliceStable(svcs, func(i, j int) bool {
		if svcs[i].Namespace != svcs[j].Namespace {
			return svcs[i].Namespace < svcs[j].Namespace
		}
		return svcs[i].Name < svcs[j].Name
	})
	var out []svcPort
	for _, s := range svcs {
		for i := range s.Ports {
			p := &s.Ports[i]
			proto := strings.ToLower(p.Protocol)
			if proto == "" {
				proto = "tcp"
			}
			name := s.Namespace + "/" + s.Name
			if p.Name != "" {
				name += ":" + p.Name
			} else {
				name += ":" + strconv.Itoa(p.Port)
			}
			eps := append([]Endpoint(nil), p.Endpoints...)
			sort.Slice(eps, func(i, j int) bool {
				if eps[i].IP != eps[j].IP {
					return ipLess(eps[i].IP, eps[j].IP)
				}
				return eps[i].Port < eps[j].Port
			})
			sp := svcPort{svc: s, port: p, proto: proto, name: name, eps: eps,
				chain: hashChain(svcChainPrefix, name+"/"+proto), own: sel.has(s)}
			if sp.external() { // only those have EXT and FW chains
				sp.ext, sp.fw = hashChain(extChainPrefix, name+"/"+proto), hashChain(fwChainPrefix, name+"/"+proto)
			}
			if sp.own { // the SEP chains appear in its own chains only
				for _, ep := range eps {
					sp.seps = append(sp.seps, hashChain(sepChainPrefix, name+"/"+proto+"/"+epAddr(ep)))
				}
			}
			if s.ClientIPAffinity {
				sp.affinity = s.AffinityTimeoutSeconds
				if sp.affinity <= 0 {
					sp.affinity = defaultAffinityTimeout
				}
			}
			out = append(out, sp)
		}
	}
	return out
}

func ipLess(a, b string) bool {
	x, errx := netip.ParseAddr(a)
	y, erry := netip.ParseAddr(b)
	if errx != nil || erry != nil {
		return a < b
	}
	return x.Less(y)
}

func epAddr(ep Endpoint) string { return ep.IP + ":" + strconv.Itoa(ep.Port) }

func hashChain(prefix, key string) string {
	sum := sha256.Sum256([]byte(key))
	// Base32 writes each 5 bytes as 8 characters on their own: the first
	// 10 bytes give the first 16 characters of the whole sum's encoding.
	enc := base32.StdEncoding.EncodeToString(sum[:10])
	return prefix + enc[:maxChainName-len(prefix)]
}

// maxComment is the longest comment the kernel keeps (xt_comment holds
// 256 bytes with the NUL).
const maxComment = 255

// comment quotes like iptables-save does: bare when only [A-Za-z0-9_-].
// It is the one place comments are rendered: control characters (a newline
// would end the rule and start another in the restore input) become '?',
// and the text is cut to what the kernel keeps, so the rendering still
// reads back identically from iptables-save.
func comment(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return '?'
		}
		return r
	}, s)
	for len(s) > maxComment {
		_, n := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-n]
	}
	bare := s != ""
	for _, r := range s {
		if !(r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			bare = false
			break
		}
	}
	if bare {
		return "-m comment --comment " + s
	}
	return `-m comment --comment "` + commentEscaper.Replace(s) + `"`
}

var commentEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, `'`, `\'`)

// probability returns the value iptables-save prints for --probability p:
// the kernel keeps p as a fraction of 2^31.
func probability(p float64) string {
	v := math.Round(p * 0x80000000)
	return strconv.FormatFloat(v/0x80000000, 'f', 11, 64)
}

func hostCIDR(ip string) string {
	if a, err := netip.ParseAddr(ip); err == nil && a.Is6() {
		return ip + "/128"
	}
	return ip + "/32"
}

// natTable and filterTable render c's chains from its service ports
// (servicePorts(c), computed once for both): the shared chains whole, and
// the own chains of the ports marked own.
func natTable(c NodeConfig, ports []svcPort) *table {
	var t table
	t.chain(chainServices)
	t.chain(chainNodePorts)
	t.chain(chainPostrouting)
	t.chain(chainMarkMasq)
	for _, sp := range ports {
		if len(sp.eps) == 0 || !sp.own {
			continue
		}
		t.chain(sp.chain)
		for _, sep := range sp.seps {
			t.chain(sep)
		}
		if sp.external() {
			t.chain(sp.ext)
			if len(sp.svc.SourceRanges) > 0 && len(sp.svc.LoadBalancerIPs) > 0 {
				t.chain(sp.fw)
			}
		}
	}

	t.rule(chainPostrouting, comment("reconcile: masquerade marked traffic"), "-m mark --mark "+masqMark, "-j MASQUERADE")
	t.rule(chainMarkMasq, "-j MARK --set-xmark "+masqMark)

	for _, sp := range ports {
		if len(sp.eps) == 0 {
			continue // the filter table rejects it
		}
		t.rule(chainServices, "-d "+hostCIDR(sp.svc.ClusterIP), "-p "+sp.proto,
			comment(sp.name+" cluster IP"), "-m "+sp.proto, "--dport "+strconv.Itoa(sp.port.Port), "-j "+sp.chain)
		if sp.external() {
			externalRules(&t, c, &sp)
		}
	}
	t.rule(chainServices, "! -d 127.0.0.0/8", comment("reconcile: node ports; must be the last rule"),
		"-m addrtype --dst-type LOCAL", "-j "+chainNodePorts)

	for _, sp := range ports {
		if len(sp.eps) == 0 || sp.port.NodePort == 0 {
			continue
		}
		// Traffic from outside may go to a pod on another host; masquerade
		// it so the reply comes back through this host.
		np := strconv.Itoa(sp.port.NodePort)
		if sp.svc.LocalTraffic {
			t.rule(chainNodePorts, "-p "+sp.proto, comment(sp.name+" node port"), "-m "+sp.proto, "--dport "+np, "-j "+sp.ext)
			continue
		}
		t.rule(chainNodePorts, "-p "+sp.proto, comment(sp.name+" node port"), "-m "+sp.proto, "--dport "+np, "-j "+chainMarkMasq)
		t.rule(chainNodePorts, "-p "+sp.proto, comment(sp.name+" node port"), "-m "+sp.proto, "--dport "+np, "-j "+sp.chain)
	}

	for _, sp := range ports {
		if len(sp.eps) == 0 || !sp.own {
			continue
		}
		if c.ClusterPodCIDR != "" {
			// Host processes and outside clients: masquerade so replies return here.
			t.rule(sp.chain, "! -s "+c.ClusterPodCIDR, "-d "+hostCIDR(sp.svc.ClusterIP), "-p "+sp.proto,
				comment(sp.name+" cluster IP"), "-m "+sp.proto, "--dport "+strconv.Itoa(sp.port.Port), "-j "+chainMarkMasq)
		}
		if sp.affinity > 0 {
			for i, ep := range sp.eps {
				sep := sp.seps[i]
				t.rule(sp.chain, comment(sp.name+" -> "+epAddr(ep)),
					"-m recent --rcheck --seconds "+strconv.Itoa(sp.affinity)+" --reap --name "+sep+" --mask 255.255.255.255 --rsource",
					"-j "+sep)
			}
		}
		n := len(sp.eps)
		for i, ep := range sp.eps {
			sep := sp.seps[i]
			if i < n-1 {
				t.rule(sp.chain, comment(sp.name+" -> "+epAddr(ep)),
					"-m statistic --mode random --probability "+probability(1/float64(n-i)), "-j "+sep)
			} else {
				t.rule(sp.chain, comment(sp.name+" -> "+epAddr(ep)), "-j "+sep)
			}
		}
		for i, ep := range sp.eps {
			sep := sp.seps[i]
			// Hairpin: a pod reaching itself through the VIP must see a
			// source other than its own address, or it answers itself directly.
			t.rule(sep, "-s "+hostCIDR(ep.IP), comment(sp.name), "-j "+chainMarkMasq)
			dnat := []string{"-p " + sp.proto, comment(sp.name)}
			if sp.affinity > 0 {
				dnat = append(dnat, "-m recent --set --name "+sep+" --mask 255.255.255.255 --rsource")
			}
			dnat = append(dnat, "-m "+sp.proto, "-j DNAT --to-destination "+epAddr(ep))
			t.rule(sep, dnat...)
		}
	}
	return &t
}

func filterTable(c NodeConfig, ports []svcPort) *table {
	var t table
	t.chain(chainServices)
	t.chain(chainForward)
	if c.ClusterPodCIDR != "" {
		// Docker sets FORWARD's policy to DROP; pod traffic between hosts
		// (no NAT) must pass.
		t.rule(chainForward, "-s "+c.ClusterPodCIDR, comment("reconcile: pod traffic"), "-j ACCEPT")
		t.rule(chainForward, "-d "+c.ClusterPodCIDR, comment("reconcile: pod traffic"), "-j ACCEPT")
	}
	t.rule(chainForward, comment("reconcile: service traffic"), "-m mark --mark "+masqMark, "-j ACCEPT")
	for _, sp := range ports {
		externalFilter(&t, &sp)
		if len(sp.eps) > 0 {
			continue
		}
		t.rule(chainServices, "-d "+hostCIDR(sp.svc.ClusterIP), "-p "+sp.proto, comment(sp.name+" has no endpoints"),
			"-m "+sp.proto, "--dport "+strconv.Itoa(sp.port.Port), "-j REJECT --reject-with icmp-port-unreachable")
		if sp.port.NodePort != 0 {
			t.rule(chainServices, "-p "+sp.proto, comment(sp.name+" has no endpoints"), "-m addrtype --dst-type LOCAL",
				"-m "+sp.proto, "--dport "+strconv.Itoa(sp.port.NodePort), "-j REJECT --reject-with icmp-port-unreachable")
		}
	}
	return &t
}

// hook is a jump from a built-in chain into ours.
type hook struct {
	table, chain string
	spec         []string
}

func (h hook) String() string { return h.table + "/" + h.chain + " " + strings.Join(h.spec, " ") }

// line is the hook as iptables-save prints it.
func (h hook) line() string {
	parts := []string{"-A", h.chain}
	for i, a := range h.spec {
		if i > 0 && h.spec[i-1] == "--comment" {
			parts = append(parts, strings.TrimPrefix(comment(a), "-m comment --comment "))
			continue
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// hooks in the order they must appear at the top of each built-in chain.
func hooks() []hook {
	portals := []string{"-m", "comment", "--comment", "reconcile service portals", "-j", chainServices}
	newPortals := append([]string{"-m", "conntrack", "--ctstate", "NEW"}, portals...)
	return []hook{
		{"nat", "PREROUTING", portals},
		{"nat", "OUTPUT", portals},
		{"nat", "POSTROUTING", []string{"-m", "comment", "--comment", "reconcile postrouting rules", "-j", chainPostrouting}},
		// Rejects for VIPs without endpoints come before the pod ACCEPT.
		{"filter", "FORWARD", newPortals},
		{"filter", "FORWARD", []string{"-m", "comment", "--comment", "reconcile forwarding rules", "-j", chainForward}},
		{"filter", "OUTPUT", newPortals},
		{"filter", "INPUT", newPortals},
	}
}
