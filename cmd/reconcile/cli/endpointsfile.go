package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/reconcile-dev/reconcile/internal/atomicfile"
)

// writeEndpointsFile writes the endpoints file locally too, for
// --endpoints-file: atomically (temp file, fsync, rename, directory fsync) and only when its
// content changed, like the copies on the hosts.
func writeEndpointsFile(path string, content []byte) error {
	if path == "" || content == nil {
		return nil
	}
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, content) {
		return nil
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--endpoints-file: %w", err)
	}
	if err := atomicfile.Write(path, content, 0o644); err != nil {
		return fmt.Errorf("--endpoints-file %s: %w", path, err)
	}
	return nil
}
