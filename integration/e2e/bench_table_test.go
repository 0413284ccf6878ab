package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// benchRow is one line of bench/results.md: our figure, the floor measured
// in the same run, and their ratio against the target.
type benchRow struct {
	scenario string
	ours     string
	ref      string  // the floor's figure, then what it is
	ratio    float64 // ours / ref; NaN when the row has none
	target   string  // as the issue states it
	max      float64 // the ratio the target allows; 0 when the target is not a ratio
	met      string  // set by rows whose target is not a ratio ("0 failed")
	note     string
}

// benchTable collects rows as the phases measure them, so a phase that
// fails still leaves the others' rows in the file.
type benchTable struct {
	mu     sync.Mutex
	rows   []benchRow
	failed []string
}

func (bt *benchTable) add(r benchRow) {
	bt.mu.Lock()
	defer bt.mu.Unlock()
	bt.rows = append(bt.rows, r)
}

func (r benchRow) verdict() string {
	switch {
	case r.met != "":
		return r.met
	case r.max == 0 || math.IsNaN(r.ratio):
		return "—"
	case r.ratio <= r.max:
		return "yes"
	}
	return "**no**"
}

func (r benchRow) ratioText() string {
	if math.IsNaN(r.ratio) {
		return "—"
	}
	return fmt.Sprintf("%.2f", r.ratio)
}

// markdown is the table as bench/results.md holds it.
func (bt *benchTable) markdown() string {
	bt.mu.Lock()
	defer bt.mu.Unlock()
	var b strings.Builder
	b.WriteString("| scenario | reconcile | reference (floor, same run) | ratio | target | met | notes |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- |\n")
	for _, r := range bt.rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n",
			r.scenario, r.ours, r.ref, r.ratioText(), orDash(r.target), r.verdict(), r.note)
	}
	for _, f := range bt.failed {
		fmt.Fprintf(&b, "| %s | not measured: the phase failed, see the test log | | | | | |\n", f)
	}
	return b.String()
}

// text is the table for the terminal: the same columns, aligned.
func (bt *benchTable) text() string {
	bt.mu.Lock()
	defer bt.mu.Unlock()
	rows := [][]string{{"scenario", "reconcile", "reference", "ratio", "target", "met"}}
	for _, r := range bt.rows {
		ref, _, _ := strings.Cut(r.ref, ":")
		rows = append(rows, []string{r.scenario, r.ours, ref, r.ratioText(), orDash(r.target), r.verdict()})
	}
	for _, f := range bt.failed {
		rows = append(rows, []string{f, "FAILED", "", "", "", ""})
	}
	width := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, c := range row {
			width[i] = max(width[i], len([]rune(plain(c))))
		}
	}
	var b strings.Builder
	for _, row := range rows {
		for i, c := range row {
			c = plain(c)
			b.WriteString(c)
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", width[i]-len([]rune(c))+2))
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// plain drops markdown emphasis and code marks for the terminal.
func plain(s string) string { return strings.NewReplacer("**", "", "`", "").Replace(s) }

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func ratio(ours, ref time.Duration) float64 {
	if ref <= 0 {
		return math.NaN()
	}
	return float64(ours) / float64(ref)
}

// fmtDur prints seconds with two decimals, or whole milliseconds below one
// second.
func fmtDur(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

func fmtMiB(kib int64) string { return fmt.Sprintf("%.0f MiB", float64(kib)/1024) }

// bestOf runs f n times and returns the fastest run and all of them. The
// machine is shared (other developers run tests on its 2 cores), and load
// only ever adds time, so the minimum is the figure least disturbed by it.
func bestOf(n int, f func() time.Duration) (time.Duration, []time.Duration) {
	var all []time.Duration
	for range n {
		all = append(all, f())
	}
	return slices.Min(all), all
}

// runs prints every sample of a row, for the notes column.
func runs(all []time.Duration) string {
	if len(all) == 1 {
		return fmtDur(all[0])
	}
	var s []string
	for _, d := range all {
		s = append(s, fmtDur(d))
	}
	return fmt.Sprintf("best of %d (%s)", len(all), strings.Join(s, ", "))
}

// measured is one CLI run with its wall time and the peak RSS of the
// process (wait4's rusage, as /usr/bin/time -v reports it).
type measured struct {
	result
	wall   time.Duration
	rssKiB int64
}

// measure runs the CLI as run does and fails unless it exits with code.
// profiles counts the runs measure profiled (RECONCILE_BENCH_PROFILES).
var profiles int

func (e *env) measure(code int, args ...string) measured {
	e.t.Helper()
	args = append(args, "--ssh-key", e.l.KeyFile, "--known-hosts", e.l.KnownHosts, "--cache-dir", e.cache)
	cmd := exec.CommandContext(e.ctx(10*time.Minute), reconcileBin, args...)
	cmd.Env = append(os.Environ(), "SSH_AUTH_SOCK=")
	if dir := os.Getenv("RECONCILE_BENCH_PROFILES"); dir != "" {
		// A CPU profile of every timed CLI run, named by its command and
		// order, for finding what a row spends (go tool pprof FILE).
		profiles++
		cmd.Env = append(cmd.Env, fmt.Sprintf("RECONCILE_CPUPROFILE=%s/%03d-%s.prof", dir, profiles, args[0]))
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	m := measured{wall: time.Since(start)}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		e.t.Fatalf("reconcile %v: %v", args, err)
	}
	m.result = result{out.String(), errb.String(), cmd.ProcessState.ExitCode()}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		m.rssKiB = ru.Maxrss
	}
	if m.code != code {
		e.t.Fatalf("reconcile %s: want exit %d, got %s", strings.Join(args, " "), code, m.result)
	}
	return m
}

// moduleRoot is the repository's top folder, found from this file.
func moduleRoot() string {
	_, file, _, _ := goruntime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// loadavg is /proc/loadavg's first three fields: how busy the shared
// machine was.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// buildTool builds one of the bench's helper commands (bench/NAME) static,
// into dir, where the lab hosts see it too (they share the machine's /tmp).
func buildTool(t *testing.T, dir, name string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, "./bench/"+name)
	cmd.Dir = moduleRoot()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building bench/%s: %v\n%s", name, err, b)
	}
	return out
}

func goruntimeCPUs() int { return goruntime.NumCPU() }
