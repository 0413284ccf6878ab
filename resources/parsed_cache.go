package resources

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/reconcile-dev/reconcile/internal/atomicfile"
)

// parseCache memoizes splitDocuments across runs: the parsed documents of
// every file the last load of a source read, by the SHA-256 of the file's
// bytes (parsed_nodes.go has the encoding). A run over an unchanged tree
// then parses no YAML, and one over a changed tree parses only the files
// that changed. It is a cache, never state: a missing, stale, damaged or
// foreign file only costs the parse, as the nodes depend on nothing but
// the bytes and the YAML library, whose version the file names. Files
// that do not parse are not kept, so their errors are always the
// parser's own.
//
// The file: parseCacheMagic and the library version on one line, then
// per entry the 32-byte key, a uvarint length and the encoding, and last
// the SHA-256 of everything before it. It is rewritten (atomically, 0600)
// only when this load's files differ from what it held.
type parseCache struct {
	path string
	old  map[[32]byte]string // read from path

	mu      sync.Mutex
	next    map[[32]byte]string // what this load read: the next file
	changed bool
}

const parseCacheMagic = "reconcile parsed YAML 1"

// maxParseCache bounds the file read back: encodings are about twice
// the YAML they stand for, and a tree holds at most MaxTotalBytes.
const maxParseCache = 2 * MaxTotalBytes

// parseCacheHeader names the format and the parser that made the nodes.
var parseCacheHeader = sync.OnceValue(func() string {
	v := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "go.yaml.in/yaml/v3" {
				v = d.Version
			}
		}
	}
	return parseCacheMagic + " go.yaml.in/yaml/v3@" + v + "\n"
})

// openParseCache reads the cache at path; nil when path is empty.
func openParseCache(path string) *parseCache {
	if path == "" {
		return nil
	}
	c := &parseCache{path: path, next: map[[32]byte]string{}}
	c.old = readParseCache(path)
	return c
}

func readParseCache(path string) map[[32]byte]string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxParseCache+1))
	head := parseCacheHeader()
	if err != nil || len(b) > maxParseCache || len(b) < len(head)+sha256.Size || !bytes.HasPrefix(b, []byte(head)) {
		return nil
	}
	body, sum := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	if s := sha256.Sum256(body); !bytes.Equal(s[:], sum) {
		return nil
	}
	all := string(body) // one copy; the entries are slices of it
	m := map[[32]byte]string{}
	for off := len(head); off < len(all); {
		if len(all)-off < 32 {
			return nil
		}
		var key [32]byte
		copy(key[:], all[off:off+32])
		off += 32
		n, k := uvarintString(all[off:])
		if k <= 0 || n > uint64(len(all)-off-k) {
			return nil
		}
		off += k
		m[key] = all[off : off+int(n)]
		off += int(n)
	}
	return m
}

// lookup returns the encoding kept for data's key, if any. Safe for
// concurrent use with itself.
func (c *parseCache) lookup(key [32]byte) (string, bool) {
	if c == nil {
		return "", false
	}
	enc, ok := c.old[key]
	return enc, ok
}

// keep records that this load read the file of key, parsed to enc;
// fresh when it was parsed now, not found.
func (c *parseCache) keep(key [32]byte, enc string, fresh bool) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.next[key] = enc
	c.changed = c.changed || fresh
}

// save writes the entries this load read, when they are not what the
// file held. Best effort: a cache that cannot be written costs the next
// run its parse, nothing else.
func (c *parseCache) save() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.changed && len(c.next) == len(c.old) {
		return
	}
	size := len(parseCacheHeader()) + sha256.Size
	for _, enc := range c.next {
		size += 32 + binary.MaxVarintLen64 + len(enc)
	}
	if size > maxParseCache {
		return
	}
	b := make([]byte, 0, size)
	b = append(b, parseCacheHeader()...)
	for key, enc := range c.next {
		b = append(b, key[:]...)
		b = binary.AppendUvarint(b, uint64(len(enc)))
		b = append(b, enc...)
	}
	sum := sha256.Sum256(b)
	b = append(b, sum[:]...)
	if os.MkdirAll(filepath.Dir(c.path), 0o700) != nil {
		return
	}
	_ = atomicfile.Write(c.path, b, 0o600)
}

// parsedDocuments is splitDocuments through the cache c (nil: none).
func parsedDocuments(c *parseCache, data []byte) ([]*yaml.Node, error) {
	if c == nil {
		return splitDocuments(data)
	}
	key := sha256.Sum256(data)
	if enc, ok := c.lookup(key); ok {
		if docs, err := decodeNodes(enc); err == nil {
			c.keep(key, enc, false)
			return docs, nil
		}
	}
	docs, err := splitDocuments(data)
	if err == nil {
		if enc, ok := encodeNodes(docs); ok {
			c.keep(key, string(enc), true)
		}
	}
	return docs, err
}

// countParse is a hook for the tests that check what the cache saves.
var countParse = func() {}
