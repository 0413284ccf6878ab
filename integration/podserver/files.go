package main

import (
	"fmt"
	"io"
	"os"
)

// catFiles prints files, as cat does (the image has no cat).
func catFiles(paths []string, out, errw io.Writer) int {
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			fmt.Fprintln(errw, err)
			return 1
		}
		out.Write(b)
	}
	return 0
}

// printEnv prints the named variables' values, one a line; 1 when one
// is not set.
func printEnv(names []string, out io.Writer) int {
	code := 0
	for _, n := range names {
		v, ok := os.LookupEnv(n)
		if !ok {
			code = 1
		}
		fmt.Fprintln(out, v)
	}
	return code
}
