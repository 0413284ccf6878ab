// Command agentrss measures the node agent's peak memory for `make bench`.
//
// The bench copies it over the agent binary on a lab host, and moves the real
// binary to the same path plus ".real". Run as that path, it runs the real
// binary with the same arguments and standard streams, waits, and appends one
// JSON line to the path plus ".rss": the arguments and the peak resident set
// of the agent (and of the iptables tools it ran, which wait4 folds in), as
// `/usr/bin/time -v` would print it. It exits with the agent's exit code.
//
// It is a wrapper rather than a flag of the agent so the measured binary is
// the one users run, unchanged.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

func main() {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "agentrss:", err)
		os.Exit(2)
	}
	cmd := exec.Command(self+".real", os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		fmt.Fprintln(os.Stderr, "agentrss:", err)
		os.Exit(2)
	}
	code := cmd.ProcessState.ExitCode()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		line, _ := json.Marshal(struct {
			Args      []string `json:"args"`
			MaxRSSKiB int64    `json:"maxrss_kib"` // Linux reports ru_maxrss in KiB
			Exit      int      `json:"exit"`
		}{os.Args[1:], ru.Maxrss, code})
		if f, err := os.OpenFile(self+".rss", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err == nil {
			f.Write(append(line, '\n'))
			f.Close()
		}
	}
	os.Exit(code)
}
