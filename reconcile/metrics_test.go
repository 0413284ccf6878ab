package reconcile

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var fullReport = SyncReport{
	Time:        time.Date(2025, 3, 14, 15, 9, 26, 535_000_000, time.UTC),
	Duration:    2*time.Second + 250*time.Millisecond,
	Success:     true,
	Commit:      "0123456789abcdef0123456789abcdef01234567",
	Changes:     5,
	Drift:       2,
	Pods:        map[string]int{PodsReady: 3, PodsNotReady: 1},
	Services:    2,
	Unreachable: 0,
}

func TestRenderMetricsGolden(t *testing.T) {
	golden(t, "metrics.prom.golden", RenderMetrics(fullReport))
}

func TestRenderMetricsSamples(t *testing.T) {
	tests := []struct {
		name string
		r    SyncReport
		want map[string]string // series -> value; only these are checked
	}{
		{
			name: "never synced",
			r:    SyncReport{},
			want: map[string]string{
				"reconcile_last_sync_timestamp_seconds": "0",
				"reconcile_last_sync_success":           "0",
				"reconcile_last_sync_duration_seconds":  "0",
				`reconcile_pods{state="ready"}`:         "0",
				`reconcile_pods{state="not_ready"}`:     "0",
				`reconcile_info{commit=""}`:             "1",
			},
		},
		{
			name: "whole second, locked, unreachable",
			r: SyncReport{Time: time.Unix(1700000000, 0), Duration: 1500 * time.Microsecond, Locked: true,
				Unreachable: 2, Pods: map[string]int{PodsNotReady: 4}},
			want: map[string]string{
				"reconcile_last_sync_timestamp_seconds": "1700000000",
				"reconcile_last_sync_duration_seconds":  "0.0015",
				"reconcile_last_sync_locked":            "1",
				"reconcile_unreachable_nodes":           "2",
				`reconcile_pods{state="ready"}`:         "0",
				`reconcile_pods{state="not_ready"}`:     "4",
			},
		},
		{
			name: "milliseconds without trailing zeros",
			r:    SyncReport{Time: time.Unix(1700000000, 120_999_999)},
			want: map[string]string{"reconcile_last_sync_timestamp_seconds": "1700000000.12"},
		},
		{
			name: "extra pod state sorted after ready and not_ready",
			r:    SyncReport{Pods: map[string]int{"unknown": 7, PodsReady: 1}},
			want: map[string]string{`reconcile_pods{state="unknown"}`: "7"},
		},
		{
			name: "label value escaped",
			r:    SyncReport{Commit: "a\"b\\c\nd"},
			want: map[string]string{`reconcile_info{commit="a\"b\\c\nd"}`: "1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseExposition(t, RenderMetrics(tt.r))
			for series, want := range tt.want {
				if got[series] != want {
					t.Errorf("%s = %q, want %q", series, got[series], want)
				}
			}
		})
	}
}

func TestRenderMetricsPodStateOrder(t *testing.T) {
	text := string(RenderMetrics(SyncReport{Pods: map[string]int{"zz": 1, "aa": 1}}))
	var order []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "reconcile_pods{") {
			order = append(order, l)
		}
	}
	want := []string{`reconcile_pods{state="ready"} 0`, `reconcile_pods{state="not_ready"} 0`,
		`reconcile_pods{state="aa"} 1`, `reconcile_pods{state="zz"} 1`}
	if strings.Join(order, "\n") != strings.Join(want, "\n") {
		t.Errorf("pod series:\n%s\nwant:\n%s", strings.Join(order, "\n"), strings.Join(want, "\n"))
	}
}

func TestWriteMetrics(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "reconcile.prom")
	for i, r := range []SyncReport{{Changes: 1}, fullReport} { // the second replaces the first
		if err := WriteMetrics(path, r); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(RenderMetrics(fullReport)) {
		t.Errorf("file content differs from RenderMetrics:\n%s", got)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o644 {
		t.Errorf("mode %04o, want 0644 so node_exporter's user can read it", st.Mode().Perm())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want only reconcile.prom (temporary file left behind)", names)
	}
}

func TestWriteMetricsErrors(t *testing.T) {
	dir := t.TempDir()
	isDir := filepath.Join(dir, "reconcile.prom")
	if err := os.Mkdir(isDir, 0o755); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "nope", "reconcile.prom")
	tests := []struct {
		name string
		path string
		want string
	}{
		{"missing directory", missing, "write metrics " + missing + ": "},
		{"path is a directory", isDir, "write metrics " + isDir + ": "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := WriteMetrics(tt.path, fullReport)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("err = %v, want prefix %q", err, tt.want)
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if strings.Contains(e.Name(), ".tmp-") {
					t.Errorf("temporary file %s left behind", e.Name())
				}
			}
		})
	}
}

// The golden file is checked against the exposition format by hand rather
// than with prometheus/common/expfmt: the rules that matter for the
// textfile collector are few, and it keeps a dependency out of go.mod.
func TestRenderMetricsIsValidExposition(t *testing.T) {
	for _, r := range []SyncReport{{}, fullReport, {Commit: "x\"y\\z\n", Pods: map[string]int{"odd \"state\"": 1}}} {
		parseExposition(t, RenderMetrics(r))
	}
}

var (
	metricName = `[a-zA-Z_:][a-zA-Z0-9_:]*`
	helpLine   = regexp.MustCompile(`^# HELP (` + metricName + `) (.*)$`)
	typeLine   = regexp.MustCompile(`^# TYPE (` + metricName + `) (counter|gauge|histogram|summary|untyped)$`)
	sampleLine = regexp.MustCompile(`^(` + metricName + `)(\{.*\})? (\S+)$`)
	labelPair  = regexp.MustCompile(`^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"`)
)

// parseExposition parses text as the text exposition format, failing the
// test on anything checkExposition rejects.
func parseExposition(t *testing.T, text []byte) map[string]string {
	t.Helper()
	series, err := checkExposition(text)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	return series
}

// checkExposition returns each series (name plus labels as written) with
// its value. It rejects a line the format does not allow, a sample without
// HELP and TYPE before it, a family split in two, a duplicate series, a
// timestamp (the textfile collector refuses them) and a missing final
// newline.
func checkExposition(text []byte) (map[string]string, error) {
	s := string(text)
	if !strings.HasSuffix(s, "\n") {
		return nil, fmt.Errorf("does not end in a newline")
	}
	series := map[string]string{}
	helped, typed, done := map[string]bool{}, map[string]bool{}, map[string]bool{}
	current := ""
	for i, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		fail := func(format string, args ...any) error {
			return fmt.Errorf("line %d %q: %s", i+1, line, fmt.Sprintf(format, args...))
		}
		if m := helpLine.FindStringSubmatch(line); m != nil {
			if helped[m[1]] {
				return nil, fail("second HELP for %s", m[1])
			}
			if strings.ContainsRune(strings.ReplaceAll(strings.ReplaceAll(m[2], `\\`, ""), `\n`, ""), '\\') {
				return nil, fail("HELP has an escape other than \\\\ and \\n")
			}
			helped[m[1]] = true
			continue
		}
		if m := typeLine.FindStringSubmatch(line); m != nil {
			if typed[m[1]] {
				return nil, fail("second TYPE for %s", m[1])
			}
			typed[m[1]] = true
			continue
		}
		if strings.HasPrefix(line, "#") || line == "" {
			return nil, fail("not a HELP, TYPE or sample line")
		}
		m := sampleLine.FindStringSubmatch(line)
		if m == nil {
			return nil, fail("not a sample line (a timestamp or a space in the value?)")
		}
		name, labels, value := m[1], m[2], m[3]
		if !helped[name] || !typed[name] {
			return nil, fail("sample of %s before its HELP and TYPE", name)
		}
		if name != current {
			if done[name] {
				return nil, fail("family %s split by another family", name)
			}
			done[current], current = true, name
		}
		if labels != "" {
			rest := labels[1 : len(labels)-1]
			for rest != "" {
				lm := labelPair.FindStringSubmatch(rest)
				if lm == nil {
					return nil, fail("bad label pair at %q", rest)
				}
				rest = strings.TrimPrefix(rest[len(lm[0]):], ",")
			}
		}
		if _, err := strconv.ParseFloat(value, 64); err != nil {
			return nil, fail("value %q: %v", value, err)
		}
		key := name + labels
		if _, dup := series[key]; dup {
			return nil, fail("duplicate series %s", key)
		}
		series[key] = value
	}
	return series, nil
}

// The checker must itself reject what node_exporter would, or the test
// above proves nothing.
func TestCheckExpositionRejects(t *testing.T) {
	const head = "# HELP m h\n# TYPE m gauge\n"
	tests := []struct{ name, text, want string }{
		{"no final newline", head + "m 1", "does not end in a newline"},
		{"no HELP", "# TYPE m gauge\nm 1\n", "before its HELP and TYPE"},
		{"timestamp", head + "m 1 1700000000000\n", "not a sample line"},
		{"bad value", head + "m one\n", `value "one"`},
		{"unescaped quote", head + `m{a="x"y"} 1` + "\n", "bad label pair"},
		{"bad escape", head + `m{a="x\ty"} 1` + "\n", "bad label pair"},
		{"duplicate series", head + "m 1\nm 2\n", "duplicate series m"},
		{"split family", head + "# HELP n h\n# TYPE n gauge\nm 1\nn 1\nm 2\n", "family m split"},
		{"comment", head + "# hello\nm 1\n", "not a HELP, TYPE or sample line"},
		{"bad HELP escape", "# HELP m a \\t b\n# TYPE m gauge\nm 1\n", "HELP has an escape"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := checkExposition([]byte(tt.text))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
