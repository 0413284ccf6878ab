package lab

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
)

// Exec runs a command inside a host's namespaces (network, mount, UTS, pid),
// as root on that host, without SSH: tests use it to look at or break a host
// behind the product's back. It returns stdout; a failure's error holds stderr.
func (l *Lab) Exec(ctx context.Context, host string, cmd ...string) ([]byte, error) {
	h, err := l.host(host)
	if err != nil {
		return nil, err
	}
	if !alive(h.PID, h.PIDStart) {
		return nil, fmt.Errorf("%s: host is not running (process %d gone): run the lab again", h.Name, h.PID)
	}
	args := append([]string{"-t", strconv.Itoa(h.PID), "-n", "-m", "-u", "-p", "--"}, cmd...)
	// The docker CLI would otherwise create ~/.docker on the machine.
	out, err := runEnv(ctx, []string{"DOCKER_CONFIG=" + filepath.Join(l.Dir, "docker-config")}, "nsenter", args...)
	if err != nil {
		return out, fmt.Errorf("%s: %w", h.Name, err)
	}
	return out, nil
}

// StopDocker stops a host's dockerd (and with it the host's containers) and
// keeps it stopped until StartDocker.
func (l *Lab) StopDocker(ctx context.Context, host string) error {
	_, err := l.Exec(ctx, host, "sh", "-c", `
touch /run/lab/docker.stop
pid=$(cat /run/lab/dockerd.pid 2>/dev/null) || exit 0
kill "$pid" 2>/dev/null || exit 0
i=0
while kill -0 "$pid" 2>/dev/null; do
	i=$((i+1))
	if [ $i -gt 300 ]; then kill -9 "$pid"; fi
	sleep 0.1
done`)
	return err
}

// StartDocker undoes StopDocker and waits for the daemon to answer.
func (l *Lab) StartDocker(ctx context.Context, host string) error {
	h, err := l.host(host)
	if err != nil {
		return err
	}
	if _, err := l.Exec(ctx, host, "rm", "-f", "/run/lab/docker.stop"); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		err := l.dockerPing(ctx, h)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: dockerd did not answer: %w", h.Name, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// dockerPing asks the host's dockerd for /_ping through its socket, reached
// from the root namespace through the host's mount namespace.
func (l *Lab) dockerPing(ctx context.Context, h *Host) error {
	sock := "/proc/" + strconv.Itoa(h.PID) + "/root/run/docker.sock"
	c := &http.Client{
		Timeout: 2 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", sock)
			},
			DisableKeepAlives: true,
		},
	}
	req, err := http.NewRequestWithContext(ctx, "GET", "http://docker/_ping", nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/_ping: %s: %s", resp.Status, body)
	}
	return nil
}

// podserverDir is the source of the image, found next to this file so the
// lab works from any working directory of the module.
func podserverDir() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("cannot locate the lab's source to build integration/podserver")
	}
	dir := filepath.Join(filepath.Dir(file), "..", "podserver")
	if _, err := os.Stat(filepath.Join(dir, "main.go")); err != nil {
		return "", fmt.Errorf("podserver source: %w", err)
	}
	return dir, nil
}

// buildImage builds the static podserver and packs it as an image tarball:
// /podserver and /bin/sh linked to it, for `docker import`.
func (l *Lab) buildImage(ctx context.Context) error {
	dir, err := podserverDir()
	if err != nil {
		return err
	}
	bin := filepath.Join(l.Dir, "podserver")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building %s: %w: %s", dir, err, out)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdr := &tar.Header{Name: "podserver", Mode: 0o755, Size: int64(len(b)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if _, err := tw.Write(b); err != nil {
		return err
	}
	// /bin/sh is the podserver's tiny shell (`reconcile exec POD -- sh -c`).
	for _, h := range []*tar.Header{
		{Name: "bin/", Mode: 0o755, ModTime: time.Unix(0, 0), Typeflag: tar.TypeDir},
		{Name: "bin/sh", Linkname: "/podserver", Mode: 0o777, ModTime: time.Unix(0, 0), Typeflag: tar.TypeSymlink},
	} {
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(l.Dir, "podserver.tar"), buf.Bytes(), 0o644)
}

func (l *Lab) importImage(ctx context.Context) error {
	var script strings.Builder
	fmt.Fprintf(&script, "set -e\ndocker import --change 'ENTRYPOINT [\"/podserver\"]' %s %s >/dev/null\n",
		filepath.Join(l.Dir, "podserver.tar"), PodserverImage)
	for _, tag := range ImageTags[1:] {
		fmt.Fprintf(&script, "docker tag %s %s\n", PodserverImage, tag)
	}
	var g errgroup.Group
	for _, h := range l.Hosts {
		g.Go(func() error {
			_, err := l.Exec(ctx, h.Name, "sh", "-c", script.String())
			if err != nil {
				return fmt.Errorf("importing the podserver image: %w", err)
			}
			return nil
		})
	}
	return g.Wait()
}
