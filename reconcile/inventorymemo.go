package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/reconcile-dev/reconcile/internal/atomicfile"
	"github.com/reconcile-dev/reconcile/resources/gitsource"
	"github.com/reconcile-dev/reconcile/runtime"
)

// The inventory memo records, per source, the hosts its last successful
// load named, so the next run of the same source can dial them while it
// fetches and decodes (EarlyDial). It is a hint only: a memo that is
// missing, unreadable or stale costs the overlap, never correctness, as
// Connect dials what the loaded inventory says whenever the two differ.

// maxInventoryMemo bounds what is read back (a memo of 1,000 nodes is
// about 100 KiB).
const maxInventoryMemo = 1 << 20

// inventoryMemoPath names the memo of o's source, next to the git clones:
// inventory/ in the cache folder (gitsource.CacheBase), whose clones are
// named by 16 hex digits.
func inventoryMemoPath(o SourceOptions) (string, bool) {
	return sourceCachePath(o, "inventory", ".json")
}

// parseCachePath names the file that keeps the parsed YAML of o's source
// (resources.TreeOptions.ParseCache): parsed/ in the cache folder.
func parseCachePath(o SourceOptions) (string, bool) {
	return sourceCachePath(o, "parsed", ".bin")
}

// sourceCachePath names a file of o's source in folder sub of the cache
// folder, by 16 hex digits of everything that names the source.
func sourceCachePath(o SourceOptions, sub, ext string) (string, bool) {
	base, err := gitsource.CacheBase(o.CacheDir)
	if err != nil {
		return "", false
	}
	abs := func(p string) string {
		if p == "" {
			return ""
		}
		if a, err := filepath.Abs(p); err == nil {
			return a
		}
		return p
	}
	key, _ := json.Marshal([]string{o.Repo, o.Ref, o.Path, abs(o.Dir), abs(o.ClusterFile), o.SourceID})
	sum := sha256.Sum256(key)
	return filepath.Join(base, sub, hex.EncodeToString(sum[:])[:16]+ext), true
}

// RecallTargets returns the hosts the last successful load of o's source
// named, or nil.
func RecallTargets(o SourceOptions) []runtime.Target {
	p, ok := inventoryMemoPath(o)
	if !ok {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return nil
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxInventoryMemo+1))
	if err != nil || len(b) > maxInventoryMemo {
		return nil
	}
	var ts []runtime.Target
	if json.Unmarshal(b, &ts) != nil {
		return nil
	}
	return ts
}

// RememberTargets records targets as the hosts of o's source unless the
// memo says so already (recalled). Best effort: a memo that cannot be
// written only costs the next run its overlap.
func RememberTargets(o SourceOptions, recalled, targets []runtime.Target) {
	if slices.Equal(recalled, targets) {
		return
	}
	p, ok := inventoryMemoPath(o)
	if !ok {
		return
	}
	b, err := json.Marshal(targets)
	if err != nil || len(b) > maxInventoryMemo {
		return
	}
	if os.MkdirAll(filepath.Dir(p), 0o700) != nil {
		return
	}
	_ = atomicfile.Write(p, b, 0o600)
}
