package runtime

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"sync"
	"time"
)

// SelfBinary is the running executable, the usual argument to EnsureBinary.
// Under `go test` it is the test binary, which is not the reconcile CLI, so
// tests pass a built binary instead.
func SelfBinary() (string, error) {
	p, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find own executable: %w", err)
	}
	return p, nil
}

// EnsureBinary makes sure the host has a copy of the local file and returns
// its path there. Copies are named by content, so a host that already has
// this build costs one round trip, and pods that bind-mount an older copy
// keep it: old copies are never removed here.
func (h *Host) EnsureBinary(ctx context.Context, localPath string) (string, error) {
	sum, err := fileSHA256(localPath)
	if err != nil {
		return "", fmt.Errorf("%s: copy agent binary: %w", h.Name, err)
	}
	remote := path.Join(h.binDir, "reconcile-"+sum[:12])

	_, err = h.run(ctx, nil, "test -x "+shellQuote(remote), "look for agent binary "+remote)
	var re *RunError
	switch {
	case err == nil:
		return remote, nil
	case !errors.As(err, &re) || re.ExitCode != 1:
		return "", err
	}

	f, err := os.Open(localPath)
	if err != nil {
		return "", fmt.Errorf("%s: copy agent binary: %w", h.Name, err)
	}
	defer f.Close()
	// The copy lands under a temporary name and is checked before the
	// rename: a connection that drops mid-copy gives cat an early EOF, and
	// a truncated file must never sit at a content-addressed path.
	script := fmt.Sprintf(`set -e
mkdir -p %[1]s
t=%[2]s.tmp.$$
trap 'rm -f "$t"' EXIT
cat > "$t"
echo "%[3]s  $t" | sha256sum -c - >/dev/null
chmod 0755 "$t"
mv "$t" %[2]s`, shellQuote(h.binDir), shellQuote(remote), sum)
	if _, err := h.run(ctx, f, script, "copy agent binary to "+remote); err != nil {
		return "", err
	}
	return remote, nil
}

type sumKey struct {
	path  string
	size  int64
	mtime time.Time
}

// sums caches file hashes for the life of the process: every host asks for
// the same binary, and hashing it once is enough unless it is rebuilt.
var sums sync.Map // sumKey -> string

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", p)
	}
	key := sumKey{p, fi.Size(), fi.ModTime()}
	if s, ok := sums.Load(key); ok {
		return s.(string), nil
	}
	hash := sha256.New()
	if _, err := io.Copy(hash, f); err != nil {
		return "", fmt.Errorf("read %s: %w", p, err)
	}
	s := hex.EncodeToString(hash.Sum(nil))
	sums.Store(key, s)
	return s, nil
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
