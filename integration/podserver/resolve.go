package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

// resolver is Go's own stub resolver (the binary is static): it reads the
// pod's /etc/resolv.conf (nameserver, search, ndots) as any pod's libc
// would.
var resolver = &net.Resolver{PreferGo: true}

// resolve looks a name up the way a program in the pod does and prints
// one line per lookup:
//
//	podserver resolve [-type A|SRV|PTR|CNAME] [-timeout 5s] NAME
//	name=NAME answer=a,b elapsed=1.2ms           (exit 0)
//	name=NAME error=notfound elapsed=0.4ms       (exit 2; other errors exit 1)
//
// With -n N (and -c concurrency) it only measures: N lookups of type A,
// then one line: lookups=N failed=F qps=Q p50=D p99=D.
func resolve(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("resolve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	typ := fs.String("type", "A", "A, SRV (NAME is _port._proto.service), PTR (NAME is an address) or CNAME")
	timeout := fs.Duration("timeout", 5*time.Second, "per lookup")
	n := fs.Int("n", 0, "benchmark: this many A lookups")
	conc := fs.Int("c", 1, "benchmark: lookups at once")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: podserver resolve [-type A|SRV|PTR|CNAME] [-n N -c C] NAME")
		return 1
	}
	name := fs.Arg(0)
	if *n > 0 {
		return benchLookups(name, *n, *conc, *timeout, stdout)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	start := time.Now()
	answer, err := lookup(ctx, strings.ToUpper(*typ), name)
	elapsed := time.Since(start)
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		fmt.Fprintf(stdout, "name=%s error=notfound elapsed=%s\n", name, elapsed)
		return 2
	case err != nil:
		fmt.Fprintf(stdout, "name=%s error=%q elapsed=%s\n", name, err.Error(), elapsed)
		return 1
	}
	fmt.Fprintf(stdout, "name=%s answer=%s elapsed=%s\n", name, strings.Join(answer, ","), elapsed)
	return 0
}

func lookup(ctx context.Context, typ, name string) ([]string, error) {
	switch typ {
	case "A":
		ips, err := resolver.LookupIP(ctx, "ip4", name)
		var out []string
		for _, ip := range ips {
			out = append(out, ip.String())
		}
		sort.Strings(out)
		return out, err
	case "SRV":
		_, srvs, err := resolver.LookupSRV(ctx, "", "", name)
		var out []string
		for _, s := range srvs {
			out = append(out, fmt.Sprintf("%s:%d", s.Target, s.Port))
		}
		sort.Strings(out)
		return out, err
	case "PTR":
		return resolver.LookupAddr(ctx, name)
	case "CNAME":
		c, err := resolver.LookupCNAME(ctx, name)
		return []string{c}, err
	}
	return nil, fmt.Errorf("unknown type %q", typ)
}

// benchLookups runs n A lookups, c at a time, and reports the rate and the
// latency percentiles as the pod sees them.
func benchLookups(name string, n, c int, timeout time.Duration, stdout io.Writer) int {
	if c < 1 {
		c = 1
	}
	lat := make([]time.Duration, n)
	var failed int
	var mu sync.Mutex
	next := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range c {
		wg.Go(func() {
			for i := range next {
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				t0 := time.Now()
				_, err := resolver.LookupIP(ctx, "ip4", name)
				lat[i] = time.Since(t0)
				cancel()
				if err != nil {
					mu.Lock()
					failed++
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	total := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) time.Duration { return lat[min(n-1, int(float64(n)*p))] }
	fmt.Fprintf(stdout, "lookups=%d failed=%d qps=%.0f p50=%s p99=%s\n", n, failed, float64(n)/total.Seconds(), pct(0.50), pct(0.99))
	if failed > 0 {
		return 1
	}
	return 0
}

// nslookup prints what busybox's nslookup prints, for the demo:
//
//	podserver nslookup NAME
func nslookup(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: podserver nslookup NAME")
		return 1
	}
	server := "?"
	if b, err := os.ReadFile("/etc/resolv.conf"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) == 2 && f[0] == "nameserver" {
				server = f[1]
				break
			}
		}
	}
	fmt.Fprintf(stdout, "Server:    %s\nAddress 1: %s\n\n", server, server)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cname, err := resolver.LookupCNAME(ctx, args[0])
	if err != nil {
		fmt.Fprintf(stdout, "nslookup: can't resolve '%s'\n", args[0])
		return 1
	}
	ips, err := resolver.LookupIP(ctx, "ip4", cname)
	if err != nil {
		fmt.Fprintf(stdout, "nslookup: can't resolve '%s'\n", args[0])
		return 1
	}
	fmt.Fprintf(stdout, "Name:      %s\n", strings.TrimSuffix(cname, "."))
	for i, ip := range ips {
		fmt.Fprintf(stdout, "Address %d: %s\n", i+1, ip)
	}
	return 0
}
