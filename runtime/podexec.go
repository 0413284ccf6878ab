package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// TermSize is a terminal's size in character cells.
type TermSize struct{ Height, Width uint }

// ExecOptions is one command to run in a pod's container, as `kubectl
// exec` runs it.
type ExecOptions struct {
	Cmd []string
	// Stdin, when not nil, is passed to the command (-i); without a TTY
	// its end closes the command's stdin.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// TTY gives the command a terminal (-t); its output then comes on
	// Stdout only, as a terminal has one stream.
	TTY    bool
	Size   TermSize        // the terminal's size at the start (TTY only; zero: Docker's default)
	Resize <-chan TermSize // later sizes, e.g. on SIGWINCH (TTY only; may be nil)
}

// Exec runs a command in container id, which must be one reconcile
// created, and returns the command's exit code once its output has ended.
func (s *Streams) Exec(ctx context.Context, id string, o ExecOptions) (int, error) {
	if len(o.Cmd) == 0 {
		return 0, errors.New("exec: no command")
	}
	ci, err := s.api.ContainerInspect(ctx, id)
	if err != nil {
		return 0, fmt.Errorf("%s: inspect %s: %w", s.node, id, err)
	}
	if ci.Config == nil || ci.Config.Labels[LabelManagedBy] != ManagedBy || ci.Config.Labels[LabelPod] == "" {
		return 0, fmt.Errorf("%s: container %s is not a pod container reconcile created", s.node, id)
	}
	if ci.State == nil || !ci.State.Running {
		state := "unknown"
		if ci.State != nil {
			state = ci.State.Status
		}
		return 0, fmt.Errorf("%s: cannot exec in container %s of pod %s: it is %s, not running", s.node, ci.Config.Labels[LabelContainer], ci.Config.Labels[LabelPod], state)
	}
	eo := container.ExecOptions{Cmd: o.Cmd, Tty: o.TTY, AttachStdin: o.Stdin != nil, AttachStdout: true, AttachStderr: true}
	var size *[2]uint
	if o.TTY && o.Size.Height > 0 && o.Size.Width > 0 {
		size = &[2]uint{o.Size.Height, o.Size.Width}
		eo.ConsoleSize = size
	}
	ex, err := s.api.ContainerExecCreate(ctx, id, eo)
	if err != nil {
		return 0, fmt.Errorf("%s: exec in %s: %w", s.node, ci.Config.Labels[LabelPod], err)
	}
	hj, err := s.api.ContainerExecAttach(ctx, ex.ID, container.ExecAttachOptions{Tty: o.TTY, ConsoleSize: size})
	if err != nil {
		return 0, fmt.Errorf("%s: exec in %s: attach: %w", s.node, ci.Config.Labels[LabelPod], err)
	}
	defer hj.Close()
	stop := context.AfterFunc(ctx, func() { hj.Close() })
	defer stop()

	if o.TTY {
		// Engines before API 1.42 ignore ConsoleSize: set it once started.
		if size != nil {
			_ = s.api.ContainerExecResize(ctx, ex.ID, container.ResizeOptions{Height: size[0], Width: size[1]})
		}
		if o.Resize != nil {
			go func() {
				for {
					select {
					case <-ctx.Done():
						return
					case sz, ok := <-o.Resize:
						if !ok {
							return
						}
						_ = s.api.ContainerExecResize(ctx, ex.ID, container.ResizeOptions{Height: sz.Height, Width: sz.Width})
					}
				}
			}()
		}
	}
	if o.Stdin != nil {
		go func() {
			io.Copy(hj.Conn, o.Stdin)
			if !o.TTY {
				// The command sees the end of its input, as with `kubectl
				// exec -i` from a pipe.
				hj.CloseWrite()
			}
		}()
	}
	if o.TTY {
		_, err = io.Copy(o.Stdout, hj.Reader)
	} else {
		_, err = stdcopy.StdCopy(o.Stdout, o.Stderr, hj.Reader)
	}
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("%s: exec in %s: %w", s.node, ci.Config.Labels[LabelPod], err)
	}
	return s.execExitCode(ctx, ex.ID)
}

// execExitCode waits for the exec's process to be reaped: its output can
// end a moment before dockerd records the exit.
func (s *Streams) execExitCode(ctx context.Context, execID string) (int, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		in, err := s.api.ContainerExecInspect(ctx, execID)
		if err != nil {
			return 0, fmt.Errorf("%s: exec status: %w", s.node, err)
		}
		if !in.Running {
			return in.ExitCode, nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%s: exec: output ended but the command still runs after 10s", s.node)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
