package reconcile

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/reconcile-dev/reconcile/internal/atomicfile"
)

// Pod states counted in SyncReport.Pods. A Service only sends traffic to
// ready pods, so that is the split an alert wants; other keys are written
// too, sorted, if a caller adds them.
const (
	PodsReady    = "ready"
	PodsNotReady = "not_ready"
)

// SyncReport is what one sync run did, for WriteMetrics.
type SyncReport struct {
	Time        time.Time      // when the run finished
	Duration    time.Duration  // how long it took
	Success     bool           // every host reached and converged, every rollout available
	Commit      string         // the git commit applied; empty for a local directory
	Changes     int            // changes made, drift included
	Drift       int            // of Changes, those that repaired drift on a host
	Pods        map[string]int // pods by state: PodsReady, PodsNotReady
	Services    int            // Services declared
	Unreachable int            // nodes that could not be reached or changed
	Locked      bool           // skipped: another run held the lock
}

// RenderMetrics returns r in the Prometheus text exposition format, the way
// node_exporter's textfile collector reads it: no sample timestamps (the
// collector rejects them), every family with HELP and TYPE.
func RenderMetrics(r SyncReport) []byte {
	var b bytes.Buffer
	gauge := func(name, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n", name, escapeHelp(help), name)
	}
	sample := func(name, labels, value string) {
		fmt.Fprintf(&b, "%s%s %s\n", name, labels, value)
	}

	gauge("reconcile_last_sync_timestamp_seconds", "Unix time the last sync finished.")
	sample("reconcile_last_sync_timestamp_seconds", "", unixSeconds(r.Time))
	gauge("reconcile_last_sync_success", "1 if the last sync reached every host and converged it, else 0.")
	sample("reconcile_last_sync_success", "", boolValue(r.Success))
	gauge("reconcile_last_sync_duration_seconds", "How long the last sync took.")
	sample("reconcile_last_sync_duration_seconds", "", strconv.FormatFloat(r.Duration.Seconds(), 'f', -1, 64))
	gauge("reconcile_last_sync_locked", "1 if the last sync was skipped because another run held the lock.")
	sample("reconcile_last_sync_locked", "", boolValue(r.Locked))
	gauge("reconcile_last_sync_changes", "Changes the last sync made on the hosts, drift repairs included.")
	sample("reconcile_last_sync_changes", "", strconv.Itoa(r.Changes))
	gauge("reconcile_last_sync_drift_changes", "Changes the last sync made to repair drift: hosts changed outside git.")
	sample("reconcile_last_sync_drift_changes", "", strconv.Itoa(r.Drift))

	gauge("reconcile_pods", "Pods on the hosts after the last sync, by readiness.")
	for _, state := range podStates(r.Pods) {
		sample("reconcile_pods", `{state="`+escapeLabelValue(state)+`"}`, strconv.Itoa(r.Pods[state]))
	}
	gauge("reconcile_services", "Services declared in the manifests.")
	sample("reconcile_services", "", strconv.Itoa(r.Services))
	gauge("reconcile_unreachable_nodes", "Nodes the last sync could not reach or change.")
	sample("reconcile_unreachable_nodes", "", strconv.Itoa(r.Unreachable))
	gauge("reconcile_info", "The git commit the last sync read; always 1.")
	sample("reconcile_info", `{commit="`+escapeLabelValue(r.Commit)+`"}`, "1")
	return b.Bytes()
}

// WriteMetrics writes RenderMetrics(r) to path so that node_exporter never
// reads half a file: the text goes to a temporary file in the same directory
// whose name does not end in .prom (the collector only reads *.prom), is
// synced, and is renamed over path (then the directory is synced too). The file is world-readable because
// node_exporter usually runs as its own user.
func WriteMetrics(path string, r SyncReport) error {
	if err := atomicfile.Write(path, RenderMetrics(r), 0o644); err != nil {
		return fmt.Errorf("write metrics %s: %w (does the directory exist and can this user write to it?)", path, err)
	}
	return nil
}

// podStates lists ready and not_ready always, so a graph does not lose its
// series when a count drops to zero, then any other state sorted.
func podStates(pods map[string]int) []string {
	states := []string{PodsReady, PodsNotReady}
	var extra []string
	for s := range pods {
		if s != PodsReady && s != PodsNotReady {
			extra = append(extra, s)
		}
	}
	sort.Strings(extra)
	return append(states, extra...)
}

// unixSeconds keeps millisecond precision without the float rounding noise
// of UnixNano()/1e9. The zero time reads 0, which alerts as "never synced".
func unixSeconds(t time.Time) string {
	if t.IsZero() {
		return "0"
	}
	ms := t.UnixMilli()
	s := strconv.FormatInt(ms/1000, 10)
	if frac := ms % 1000; frac != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%03d", frac), "0")
	}
	return s
}

func boolValue(v bool) string {
	if v {
		return "1"
	}
	return "0"
}

// The exposition format escapes backslash and newline in HELP text, and
// additionally the double quote in label values.
var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

func escapeHelp(s string) string       { return helpEscaper.Replace(s) }
func escapeLabelValue(s string) string { return labelEscaper.Replace(s) }
