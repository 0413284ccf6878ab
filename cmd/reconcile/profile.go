package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// profileEnv names a file to write a CPU profile of this run to: a
// developer's tool for `make bench` figures (go tool pprof FILE). It is read
// from the environment, not a flag, so it works for every subcommand
// without appearing in their help.
const profileEnv = "RECONCILE_CPUPROFILE"

// startProfile starts the CPU profile profileEnv asks for, and returns the
// function that ends it.
func startProfile() func() {
	path := os.Getenv(profileEnv)
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", profileEnv, err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", profileEnv, err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
