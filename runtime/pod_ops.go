package runtime

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// Delete stops a pod, giving it grace to exit after SIGTERM, and removes
// it. A pod that is already gone is not an error. Containers reconcile did
// not create are refused.
func (p *Pods) Delete(ctx context.Context, id string, grace time.Duration) error {
	c, err := p.api.ContainerInspect(ctx, id)
	if cerrdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: delete pod %s: %w", p.node, id, err)
	}
	if c.Config == nil || c.Config.Labels[LabelManagedBy] != ManagedBy {
		return fmt.Errorf("%s: delete %s: container %s was not created by reconcile; leaving it alone", p.node, id, c.Name)
	}
	name := c.Config.Labels[LabelPod]
	secs := int((grace + time.Second - 1) / time.Second)
	if err := p.api.ContainerStop(ctx, id, container.StopOptions{Timeout: &secs}); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("%s: stop pod %s: %w", p.node, name, err)
	}
	err = p.api.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("%s: remove pod %s: %w", p.node, name, err)
	}
	return nil
}

// Logs returns the last lines of a pod's output, stdout and stderr
// interleaved; lines <= 0 means all of it.
func (p *Pods) Logs(ctx context.Context, id string, lines int) (string, error) {
	tail := "all"
	if lines > 0 {
		tail = strconv.Itoa(lines)
	}
	rc, err := p.api.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: tail})
	if err != nil {
		return "", fmt.Errorf("%s: logs of pod %s: %w", p.node, id, err)
	}
	defer rc.Close()
	// Pods never have a TTY, so the stream is always multiplexed.
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, rc); err != nil {
		return out.String(), fmt.Errorf("%s: logs of pod %s: %w", p.node, id, err)
	}
	return out.String(), nil
}

// Exec runs a command in a pod and returns its stdout and exit code. A
// command that ran and failed is not an error; use ExecOutput for stderr.
func (p *Pods) Exec(ctx context.Context, id string, cmd []string) (stdout string, exit int, err error) {
	stdout, _, exit, err = p.ExecOutput(ctx, id, cmd)
	return stdout, exit, err
}

// ExecOutput is Exec with the command's stderr.
func (p *Pods) ExecOutput(ctx context.Context, id string, cmd []string) (stdout, stderr string, exit int, err error) {
	ex, err := p.api.ContainerExecCreate(ctx, id, container.ExecOptions{AttachStdout: true, AttachStderr: true, Cmd: cmd})
	if err != nil {
		return "", "", -1, fmt.Errorf("%s: exec %q in pod %s: %w", p.node, cmd, id, err)
	}
	att, err := p.api.ContainerExecAttach(ctx, ex.ID, container.ExecAttachOptions{})
	if err != nil {
		return "", "", -1, fmt.Errorf("%s: exec %q in pod %s: attach: %w", p.node, cmd, id, err)
	}
	defer att.Close()
	var outBuf, errBuf bytes.Buffer
	if _, err := stdcopy.StdCopy(&outBuf, &errBuf, att.Reader); err != nil {
		return outBuf.String(), errBuf.String(), -1, fmt.Errorf("%s: exec %q in pod %s: read output: %w", p.node, cmd, id, err)
	}
	// The output ends a moment before Docker records the exit code.
	for {
		st, err := p.api.ContainerExecInspect(ctx, ex.ID)
		if err != nil {
			return outBuf.String(), errBuf.String(), -1, fmt.Errorf("%s: exec %q in pod %s: %w", p.node, cmd, id, err)
		}
		if !st.Running {
			return outBuf.String(), errBuf.String(), st.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return outBuf.String(), errBuf.String(), -1, fmt.Errorf("%s: exec %q in pod %s: %w", p.node, cmd, id, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
