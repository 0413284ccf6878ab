package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/reconcile-dev/reconcile/runtime"
)

// LogsRequest is one `reconcile logs`.
type LogsRequest struct {
	Ref           PodRef
	Container     string // -c; empty: the pod's default container
	AllContainers bool
	// Prefix starts every line with [pod/NAME/CONTAINER], as `kubectl logs
	// --prefix` does.
	Prefix   bool
	Previous bool // the last terminated instance of each container
	runtime.LogOptions
}

// logSource is one container's output to copy.
type logSource struct {
	st     *runtime.Streams
	c      runtime.PodContainer
	window runtime.LogWindow
}

// Logs copies the output of the containers req names to out, one source
// after another, or all at once with Follow (across hosts in parallel,
// until every container stops or ctx ends). Notices such as kubectl's
// "Defaulted container" go to notices. Hosts that could not be reached
// are reported after the logs of the others.
func Logs(ctx context.Context, cluster string, hosts map[string]Host, unreachable map[string]error, req LogsRequest, out, notices io.Writer) error {
	hc := listContainers(ctx, cluster, hosts, unreachable)
	srcs, err := logSources(ctx, hc, req, notices)
	if err != nil {
		return err
	}
	sink := &lineSink{w: out}
	copyOne := func(s logSource) error {
		o := req.LogOptions
		if req.Previous {
			if o.Since.Before(s.window.Since) {
				o.Since = s.window.Since
			}
			o.Until = s.window.Until
			o.Follow = false // a terminated instance writes no more
		}
		prefix := ""
		if req.Prefix {
			prefix = fmt.Sprintf("[pod/%s/%s] ", s.c.Pod, s.c.Name)
		}
		// Containers' stderr goes to out as well, as kubectl logs shows
		// both streams on its stdout; each has its own partial line.
		stdout, stderr := sink.writer(prefix), sink.writer(prefix)
		err := s.st.StreamLogs(ctx, s.window.ID, o, stdout, stderr)
		stdout.flush()
		stderr.flush()
		return err
	}
	var errs []error
	if req.Follow {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, s := range srcs {
			wg.Go(func() {
				if err := copyOne(s); err != nil && ctx.Err() == nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
	} else {
		for _, s := range srcs {
			if err := copyOne(s); err != nil {
				if ctx.Err() != nil {
					break
				}
				errs = append(errs, err)
			}
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if len(hc.failed) > 0 {
		errs = append(errs, Unreachable(hc.failed))
	}
	return errors.Join(errs...)
}

// logSources resolves req to containers, and to their previous instances
// with Previous. Every problem is reported together.
func logSources(ctx context.Context, hc *hostContainers, req LogsRequest, notices io.Writer) ([]logSource, error) {
	names, byPod := hc.pods(req.Ref)
	if len(names) == 0 {
		return nil, hc.notFound(req.Ref)
	}
	var srcs []logSource
	var errs []error
	noticed := false
	for _, pod := range names {
		cs := byPod[pod]
		var want []string
		switch {
		case req.AllContainers:
			want = containerNames(cs)
		case req.Container != "":
			want = []string{req.Container}
		default:
			name, notice := defaultContainer(cs)
			if notice != "" && !noticed {
				fmt.Fprintln(notices, notice)
				noticed = true
			}
			want = []string{name}
		}
		for _, name := range want {
			c, ok := current(cs, name)
			if !ok {
				errs = append(errs, fmt.Errorf("container %s is not valid for pod %s: it has %v", name, pod, containerNames(cs)))
				continue
			}
			st := hc.streams[c.Node]
			w := runtime.LogWindow{ID: c.ID}
			if req.Previous {
				var err error
				if w, err = st.Previous(ctx, c, cs); err != nil {
					if errors.Is(err, runtime.ErrNoPrevious) {
						err = fmt.Errorf("previous terminated container %q in pod %q not found", name, pod)
					}
					errs = append(errs, err)
					continue
				}
			}
			srcs = append(srcs, logSource{st: st, c: c, window: w})
		}
	}
	return srcs, errors.Join(errs...)
}

// maxLine bounds how much of one line is held before it is written out
// anyway (Docker splits longer lines at 16 KiB, so this is rarely hit).
const maxLine = 64 << 10

// lineSink serializes whole lines from many streams onto one writer, so
// that lines of pods followed in parallel never interleave mid-line.
type lineSink struct {
	mu  sync.Mutex
	w   io.Writer
	err error
}

func (s *lineSink) writer(prefix string) *lineWriter {
	return &lineWriter{sink: s, prefix: prefix}
}

func (s *lineSink) emit(prefix string, b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return
	}
	if prefix != "" {
		if _, s.err = io.WriteString(s.w, prefix); s.err != nil {
			return
		}
	}
	_, s.err = s.w.Write(b)
}

// lineWriter prefixes each line of one stream and hands whole lines to
// its sink.
type lineWriter struct {
	sink   *lineSink
	prefix string
	buf    []byte
	// cont: the last emit ended mid-line, so the next one continues it
	// without a prefix.
	cont bool
}

func (w *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := indexNL(p)
		if i < 0 {
			w.buf = append(w.buf, p...)
			if len(w.buf) >= maxLine {
				w.out(w.buf)
				w.buf = w.buf[:0]
				w.cont = true
			}
			break
		}
		if len(w.buf) > 0 {
			w.buf = append(w.buf, p[:i+1]...)
			w.out(w.buf)
			w.buf = w.buf[:0]
		} else {
			w.out(p[:i+1])
		}
		w.cont = false
		p = p[i+1:]
	}
	w.sink.mu.Lock()
	err := w.sink.err
	w.sink.mu.Unlock()
	return n, err
}

func (w *lineWriter) out(b []byte) {
	prefix := w.prefix
	if w.cont {
		prefix = ""
	}
	w.sink.emit(prefix, b)
}

// flush writes a last line that had no newline.
func (w *lineWriter) flush() {
	if len(w.buf) > 0 {
		w.out(w.buf)
		w.buf = w.buf[:0]
	}
}

func indexNL(p []byte) int {
	for i, b := range p {
		if b == '\n' {
			return i
		}
	}
	return -1
}
