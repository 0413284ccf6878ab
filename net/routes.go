package net

import (
	"errors"
	"fmt"
	stdnet "net"
	"os"
	"sort"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// RouteProtocol tags every route we add, so we only ever list, change or
// delete our own (iproute2 shows it as "proto 82").
const RouteProtocol netlink.RouteProtocol = 82

type wantRoute struct {
	dst   *stdnet.IPNet
	gw    stdnet.IP
	link  int // for device routes
	label string
}

func (w wantRoute) netlinkRoute() *netlink.Route {
	r := &netlink.Route{Dst: w.dst, Gw: w.gw, Protocol: RouteProtocol, Table: unix.RT_TABLE_MAIN}
	if w.link != 0 {
		r.LinkIndex = w.link
		r.Scope = netlink.SCOPE_LINK
	}
	return r
}

func desiredRoutes(c NodeConfig) ([]wantRoute, error) {
	var out []wantRoute
	for _, r := range c.Routes {
		_, dst, err := stdnet.ParseCIDR(r.Dst)
		if err != nil {
			return nil, fmt.Errorf("route to node %s: bad dst %q: %w", r.Node, r.Dst, err)
		}
		gw := stdnet.ParseIP(r.Via)
		if gw == nil || gw.To4() == nil {
			return nil, fmt.Errorf("route to node %s: bad via %q: want an IPv4 address", r.Node, r.Via)
		}
		out = append(out, wantRoute{dst: dst, gw: gw.To4(), label: "pod subnet of " + r.Node})
	}
	if c.ServiceCIDR != "" && c.Bridge != "" {
		_, dst, err := stdnet.ParseCIDR(c.ServiceCIDR)
		if err != nil {
			return nil, fmt.Errorf("bad serviceCIDR %q: %w", c.ServiceCIDR, err)
		}
		// Without a default route host processes get "network is
		// unreachable" before nat OUTPUT can DNAT a VIP. The bridge is
		// created by Docker with the first pod; until then there is none.
		if br, err := netlink.LinkByName(c.Bridge); err == nil {
			out = append(out, wantRoute{dst: dst, link: br.Attrs().Index, label: "service range via " + c.Bridge})
		} else if !isNotFound(err) {
			return nil, fmt.Errorf("look up bridge %s: %w", c.Bridge, err)
		}
	}
	return out, nil
}

func isNotFound(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf)
}

func routeMatches(w wantRoute, r netlink.Route) bool {
	if r.Protocol != RouteProtocol {
		return false
	}
	if w.link != 0 {
		return r.LinkIndex == w.link && r.Gw == nil
	}
	return w.gw.Equal(r.Gw)
}

func describe(r netlink.Route) string {
	var b strings.Builder
	if r.Gw != nil {
		b.WriteString("via " + r.Gw.String())
	}
	if l, err := netlink.LinkByIndex(r.LinkIndex); err == nil {
		if b.Len() > 0 {
			b.WriteString(" ")
		}
		b.WriteString("dev " + l.Attrs().Name)
	}
	fmt.Fprintf(&b, " proto %d", r.Protocol)
	return b.String()
}

// syncRoutes converges the main table's IPv4 routes: ours are tagged with
// RouteProtocol and only those are ever changed or deleted (flannel's
// habit). A foreign route with exactly the destination of one of ours (a
// pod subnet or the service range) is a conflict: it is left alone and
// reported as an error naming it, since replacing it could cut the host off.
func syncRoutes(c NodeConfig, dryRun bool) ([]Change, error) {
	want, err := desiredRoutes(c)
	if err != nil {
		return nil, err
	}
	live, err := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil, fmt.Errorf("list routes: %w", err)
	}
	ours, foreign := map[string][]netlink.Route{}, map[string][]netlink.Route{}
	for _, r := range live {
		if r.Dst == nil {
			continue
		}
		if r.Protocol == RouteProtocol {
			ours[r.Dst.String()] = append(ours[r.Dst.String()], r)
		} else {
			foreign[r.Dst.String()] = append(foreign[r.Dst.String()], r)
		}
	}
	var changes []Change
	var errs []error
	wanted := map[string]bool{}
	for _, w := range want {
		key := w.dst.String()
		wanted[key] = true
		if f := foreign[key]; len(f) > 0 {
			var was []string
			for _, r := range f {
				was = append(was, key+" "+describe(r))
			}
			errs = append(errs, fmt.Errorf("route %s (%s): a route reconcile did not create has this destination (%s); it is left alone: remove it on the host or change the inventory's ranges",
				key, w.label, strings.Join(was, ", ")))
			continue
		}
		existing := ours[key]
		if len(existing) == 1 && routeMatches(w, existing[0]) {
			continue
		}
		nr := w.netlinkRoute()
		ch := Change{Kind: KindRoute, Action: ActionAdd, Target: key, Detail: w.label}
		if len(existing) > 0 {
			var was []string
			for _, r := range existing {
				was = append(was, describe(r))
			}
			ch.Action = ActionUpdate
			ch.Detail = w.label + "; was " + strings.Join(was, ", ")
		}
		changes = append(changes, ch)
		if dryRun {
			continue
		}
		// Extra routes of ours to the same destination (other metrics)
		// would keep winning or confusing the kernel's choice: drop all but
		// one first. There is no foreign one to this destination (checked
		// above), so the replace can only hit ours.
		for i := 1; i < len(existing); i++ {
			r := existing[i]
			if err := netlink.RouteDel(&r); err != nil {
				errs = append(errs, fmt.Errorf("delete duplicate route %s: %w", key, err))
			}
		}
		if err := netlink.RouteReplace(nr); err != nil {
			errs = append(errs, fmt.Errorf("route %s (%s): %w", key, w.label, err))
		}
	}
	var stale []netlink.Route
	for _, r := range live {
		if r.Protocol == RouteProtocol && r.Dst != nil && !wanted[r.Dst.String()] {
			stale = append(stale, r)
		}
	}
	sort.Slice(stale, func(i, j int) bool { return stale[i].Dst.String() < stale[j].Dst.String() })
	for _, r := range stale {
		changes = append(changes, Change{Kind: KindRoute, Action: ActionDelete, Target: r.Dst.String(), Detail: describe(r)})
		if dryRun {
			continue
		}
		if err := netlink.RouteDel(&r); err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, fmt.Errorf("delete route %s: %w", r.Dst, err))
		}
	}
	return changes, errors.Join(errs...)
}

// syncHairpin turns on hairpin mode on every port of the pod bridge, so a pod
// that reaches itself through a VIP gets its packets back.
func syncHairpin(bridge string, dryRun bool) ([]Change, error) {
	if bridge == "" {
		return nil, nil
	}
	br, err := netlink.LinkByName(bridge)
	if err != nil {
		if isNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("look up bridge %s: %w", bridge, err)
	}
	links, err := netlink.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	var changes []Change
	var errs []error
	for _, l := range links {
		if l.Attrs().MasterIndex != br.Attrs().Index {
			continue
		}
		pi, err := netlink.LinkGetProtinfo(l)
		if err != nil {
			errs = append(errs, fmt.Errorf("bridge port %s: %w", l.Attrs().Name, err))
			continue
		}
		if pi.Hairpin {
			continue
		}
		changes = append(changes, Change{Kind: KindHairpin, Action: ActionUpdate, Target: bridge + "/" + l.Attrs().Name, Detail: "hairpin on"})
		if dryRun {
			continue
		}
		if err := netlink.LinkSetHairpin(l, true); err != nil {
			errs = append(errs, fmt.Errorf("set hairpin on %s: %w", l.Attrs().Name, err))
		}
	}
	return changes, errors.Join(errs...)
}

// sysctls we need, as name -> /proc/sys path (interface names may hold dots).
func sysctls(bridge string) [][3]string {
	out := [][3]string{
		{"net.ipv4.ip_forward", "/proc/sys/net/ipv4/ip_forward", "1"},
	}
	if bridge == "" {
		return out
	}
	if _, err := os.Stat("/proc/sys/net/ipv4/conf/" + bridge); err != nil {
		return out // no bridge yet: Docker creates it with the first pod
	}
	// Pod traffic to a VIP is routed back out the bridge it came in on, so
	// the kernel would send ICMP redirects: they point pods at addresses that
	// are not on the link, and they use up the ICMP rate limit, so the
	// REJECT for a VIP without endpoints never reaches the pod. The kernel
	// sends redirects when either "all" or the interface allows them.
	return append(out,
		[3]string{"net.ipv4.conf.all.send_redirects", "/proc/sys/net/ipv4/conf/all/send_redirects", "0"},
		[3]string{"net.ipv4.conf." + bridge + ".send_redirects", "/proc/sys/net/ipv4/conf/" + bridge + "/send_redirects", "0"},
	)
}

// syncSysctl sets a sysctl under /proc/sys. The value is read through the
// calling thread's network namespace.
// record, when not nil, is told the value found before the change.
func syncSysctl(name, path, value string, dryRun bool, record func(path, was string) error) ([]Change, error) {
	cur, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read sysctl %s: %w", name, err)
	}
	if strings.TrimSpace(string(cur)) == value {
		return nil, nil
	}
	changes := []Change{{Kind: KindSysctl, Action: ActionUpdate, Target: name, Detail: strings.TrimSpace(string(cur)) + " -> " + value}}
	if dryRun {
		return changes, nil
	}
	if record != nil {
		if err := record(path, strings.TrimSpace(string(cur))); err != nil {
			return nil, fmt.Errorf("set sysctl %s=%s: record its value before: %w", name, value, err)
		}
	}
	if err := os.WriteFile(path, []byte(value+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("set sysctl %s=%s: %w", name, value, err)
	}
	return changes, nil
}
