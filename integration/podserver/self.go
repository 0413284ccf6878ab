package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// self prints who the process runs as and what it may do, for the
// securityContext tests:
//
//	uid=1000 gid=3000 groups=2000,4000 capbnd=0000000000001000 nonewprivs=1 rootfs=ro
//
// capbnd is the capability bounding set as /proc shows it; rootfs is "ro"
// when no file can be created in / (a read-only root filesystem), "rw"
// when one can (it is removed again).
func self(stdout, stderr io.Writer) int {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	f := map[string][]string{}
	for _, line := range strings.Split(string(status), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			f[k] = strings.Fields(v)
		}
	}
	first := func(k string) string {
		if len(f[k]) == 0 {
			return "?"
		}
		return f[k][0]
	}
	groups, _ := os.Getgroups()
	gs := make([]string, len(groups))
	for i, g := range groups {
		gs[i] = strconv.Itoa(g)
	}
	rootfs := "rw"
	probe := "/.podserver-write-probe"
	if err := os.WriteFile(probe, nil, 0o600); err != nil {
		rootfs = "ro"
	} else {
		os.Remove(probe)
	}
	fmt.Fprintf(stdout, "uid=%d gid=%d groups=%s capbnd=%s nonewprivs=%s rootfs=%s\n",
		os.Getuid(), os.Getgid(), strings.Join(gs, ","), first("CapBnd"), first("NoNewPrivs"), rootfs)
	return 0
}
