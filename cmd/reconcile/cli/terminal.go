package cli

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"

	"github.com/reconcile-dev/reconcile/runtime"
)

// terminal is the local terminal of `exec -t`.
type terminal interface {
	makeRaw() error
	restore()
	size() runtime.TermSize
	// resizes sends the terminal's size each time it changes (SIGWINCH),
	// until ctx ends.
	resizes(ctx context.Context) <-chan runtime.TermSize
}

// ttyTerminal is a real terminal on the process's stdin/stdout.
type ttyTerminal struct {
	in, out int // file descriptors
	old     *term.State
}

// openTerminal needs both streams to be the process's terminal files.
func openTerminal(in io.Reader, out io.Writer) (terminal, error) {
	fi, ok1 := in.(*os.File)
	fo, ok2 := out.(*os.File)
	if !ok1 || !ok2 || !term.IsTerminal(int(fi.Fd())) || !term.IsTerminal(int(fo.Fd())) {
		return nil, errors.New("stdin and stdout must be a terminal (or leave out -t)")
	}
	return &ttyTerminal{in: int(fi.Fd()), out: int(fo.Fd())}, nil
}

func (t *ttyTerminal) makeRaw() error {
	st, err := term.MakeRaw(t.in)
	if err != nil {
		return err
	}
	t.old = st
	return nil
}

// restore gives the terminal back as it was, whatever the command left.
func (t *ttyTerminal) restore() {
	if t.old != nil {
		term.Restore(t.in, t.old)
		t.old = nil
	}
}

func (t *ttyTerminal) size() runtime.TermSize {
	w, h, err := term.GetSize(t.out)
	if err != nil || w <= 0 || h <= 0 {
		return runtime.TermSize{}
	}
	return runtime.TermSize{Height: uint(h), Width: uint(w)}
}

func (t *ttyTerminal) resizes(ctx context.Context) <-chan runtime.TermSize {
	ch := make(chan runtime.TermSize, 1)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGWINCH)
	go func() {
		defer signal.Stop(sig)
		for {
			select {
			case <-ctx.Done():
				return
			case <-sig:
				select {
				case ch <- t.size():
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return ch
}
