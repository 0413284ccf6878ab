// Command loadgen is the load of `make bench`'s rollout row: it sends HTTP
// GETs to one URL from a lab host, each on a new connection (a service VIP
// balances per connection, so every request goes through the rules), from
// -c workers at once, until its standard input closes. Then it prints one
// JSON line: requests that got a 2xx, requests that failed, and a count of
// each kind of failure.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	workers := flag.Int("c", 4, "concurrent workers")
	timeout := flag.Duration("timeout", 2*time.Second, "per-request timeout")
	pause := flag.Duration("pause", 5*time.Millisecond, "pause between one worker's requests")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: loadgen [-c 4] [-timeout 2s] [-pause 5ms] URL  (stops when stdin closes)")
		os.Exit(2)
	}
	url := flag.Arg(0)
	c := &http.Client{Timeout: *timeout, Transport: &http.Transport{DisableKeepAlives: true}}

	var ok, failed atomic.Int64
	var mu sync.Mutex
	kinds := map[string]int{}
	stop := make(chan struct{})
	go func() {
		io.Copy(io.Discard, os.Stdin)
		close(stop)
	}()
	start := time.Now()
	var wg sync.WaitGroup
	for range *workers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := get(c, url); err != nil {
					failed.Add(1)
					mu.Lock()
					kinds[kind(err)]++
					mu.Unlock()
				} else {
					ok.Add(1)
				}
				time.Sleep(*pause)
			}
		})
	}
	wg.Wait()
	json.NewEncoder(os.Stdout).Encode(struct {
		OK       int64          `json:"ok"`
		Failed   int64          `json:"failed"`
		Seconds  float64        `json:"seconds"`
		Failures map[string]int `json:"failures,omitempty"`
	}{ok.Load(), failed.Load(), time.Since(start).Seconds(), kinds})
}

func get(c *http.Client, url string) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("status %s", resp.Status)
	}
	return nil
}

// kind shortens an error to what tells failures apart ("connection
// refused", "timeout"), without addresses and ports that differ each time.
func kind(err error) string {
	s := err.Error()
	for _, k := range []string{"connection refused", "connection reset", "no route to host", "timeout", "deadline exceeded", "EOF", "status"} {
		if strings.Contains(s, k) {
			return k
		}
	}
	if len(s) > 60 {
		s = s[:60]
	}
	return s
}
