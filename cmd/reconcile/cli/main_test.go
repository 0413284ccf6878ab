package cli

import (
	"os"
	"strings"
	"testing"
)

// TestMain keeps the tests from the developer's contexts and RECONCILE_*
// variables: every run sees no config file, an empty cache and an empty
// environment layer, as CI does.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "reconcile-cli-test-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_CONFIG_HOME", dir)
	os.Setenv("XDG_CACHE_HOME", dir) // git clones and inventory memos
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "RECONCILE_") {
			os.Unsetenv(k)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
