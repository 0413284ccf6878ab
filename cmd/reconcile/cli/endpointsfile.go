package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// writeEndpointsFile writes the endpoints file locally too, for
// --endpoints-file: atomically (temp file, fsync, rename) and only when its
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
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("--endpoints-file: %w", err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(content); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("--endpoints-file %s: %w", path, err)
	}
	return nil
}
