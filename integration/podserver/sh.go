package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// sh is a tiny shell for `reconcile exec` tests, as /bin/sh in the image
// (a symlink to /podserver) or `podserver sh`: `sh -c 'CMD; CMD'` runs a
// script, plain `sh` reads commands from stdin with a "$ " prompt.
// Commands: exit [N], echo ARGS..., stty size, hostname, cat FILE. Words
// are split on blanks; single or double quotes around a whole word are
// removed.
func sh(args []string, in io.Reader, out, errOut io.Writer) int {
	if len(args) >= 2 && args[0] == "-c" {
		code := 0
		for _, line := range strings.Split(args[1], ";") {
			var done bool
			if code, done = shLine(line, out, errOut); done {
				return code
			}
		}
		return code
	}
	r := bufio.NewScanner(in)
	code := 0
	for {
		fmt.Fprint(out, "$ ")
		if !r.Scan() {
			return code
		}
		var done bool
		if code, done = shLine(r.Text(), out, errOut); done {
			return code
		}
	}
}

// shLine runs one command; done says the shell must exit with code.
func shLine(line string, out, errOut io.Writer) (code int, done bool) {
	words := strings.Fields(strings.TrimSpace(line))
	for i, w := range words {
		if len(w) >= 2 && (w[0] == '\'' || w[0] == '"') && w[len(w)-1] == w[0] {
			words[i] = w[1 : len(w)-1]
		}
	}
	if len(words) == 0 {
		return 0, false
	}
	switch words[0] {
	case "exit":
		n := 0
		if len(words) > 1 {
			n, _ = strconv.Atoi(words[1])
		}
		return n, true
	case "echo":
		fmt.Fprintln(out, strings.Join(words[1:], " "))
	case "hostname":
		h, _ := os.Hostname()
		fmt.Fprintln(out, h)
	case "stty":
		if len(words) != 2 || words[1] != "size" {
			fmt.Fprintln(errOut, "stty: only 'stty size' is supported")
			return 1, false
		}
		ws, err := unix.IoctlGetWinsize(0, unix.TIOCGWINSZ)
		if err != nil {
			fmt.Fprintln(errOut, "stty: standard input: not a tty")
			return 1, false
		}
		fmt.Fprintf(out, "%d %d\n", ws.Row, ws.Col)
	case "cat":
		for _, f := range words[1:] {
			b, err := os.ReadFile(f)
			if err != nil {
				fmt.Fprintln(errOut, "cat:", err)
				return 1, false
			}
			out.Write(b)
		}
	default:
		fmt.Fprintf(errOut, "sh: %s: not found\n", words[0])
		return 127, false
	}
	return 0, false
}
