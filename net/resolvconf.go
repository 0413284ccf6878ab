package net

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/reconcile-dev/reconcile/resources"
)

// hostResolvConf is the host's resolver configuration, whose search
// domains a ClusterFirst pod's resolv.conf takes (File.HostSearchAt). A
// variable so tests read a temp file: they must never touch the real one.
var hostResolvConf = "/etc/resolv.conf"

// maxHostResolvConf bounds the read: glibc reads far less, and a search
// list is at most 2048 characters.
const maxHostResolvConf = 64 << 10

// withHostSearches returns files with the host's search domains merged
// into each pod resolv.conf that asks for them, as the kubelet merges them
// (resources.WithHostSearches), and a warning for each file the limits
// cut. Only the copies written change: the config keeps the CLI's content,
// so its hash is the one the planner computed. A host without a
// resolv.conf has no search domains.
func withHostSearches(files []File) ([]File, []string, error) {
	var host *resources.ResolvConf
	out, copied := files, false
	var warnings []string
	for i, f := range files {
		if f.HostSearchAt == 0 {
			continue
		}
		if host == nil {
			h, err := readHostResolvConf(hostResolvConf)
			if err != nil {
				return nil, nil, err
			}
			host = &h
		}
		if !copied {
			out, copied = slices.Clone(files), true
		}
		merged, dropped := mergeResolvFile(f.Content, f.HostSearchAt, *host)
		if len(dropped) > 0 {
			warnings = append(warnings, fmt.Sprintf("%s: search list too long with the host's (%s): omitted %s, as the kubelet does",
				f.Path, hostResolvConf, strings.Join(dropped, " ")))
		}
		out[i] = File{Path: f.Path, Content: merged, Mode: f.Mode}
	}
	return out, warnings, nil
}

// readHostResolvConf parses the host's resolv.conf; a missing one is empty.
func readHostResolvConf(p string) (resources.ResolvConf, error) {
	fh, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return resources.ResolvConf{}, nil
	}
	if err != nil {
		return resources.ResolvConf{}, fmt.Errorf("host search domains: %w", err)
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, maxHostResolvConf))
	if err != nil {
		return resources.ResolvConf{}, fmt.Errorf("host search domains: read %s: %w", p, err)
	}
	return resources.ParseResolvConf(b), nil
}

// mergeResolvFile is content (a pod resolv.conf the CLI wrote) with the
// host's search domains after its first at entries; its leading comment
// lines are kept.
func mergeResolvFile(content []byte, at int, host resources.ResolvConf) ([]byte, []string) {
	var head strings.Builder
	for _, line := range strings.SplitAfter(string(content), "\n") {
		if !strings.HasPrefix(line, "#") {
			break
		}
		head.WriteString(line)
	}
	merged, dropped := resources.WithHostSearches(resources.ParseResolvConf(content), at, host)
	return []byte(head.String() + merged.String()), dropped
}
