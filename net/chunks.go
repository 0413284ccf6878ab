package net

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
)

// Chunked files (issue 14). The endpoints file and the DNS records of
// 2,000 Services are megabytes, rewritten whole when one Service changes:
// sending that content to every host was most of a one-Service change. So
// a file's content may travel as chunks cut where the content itself says
// (a rolling hash over the bytes, as rsync and backup tools cut), each
// named by its digest: the host takes the chunks it lacks from the request
// and the others from the file it holds, cut the same way, and writes only
// what matches the file's digest. A change moves one or two boundaries,
// so a one-Service change sends a few kilobytes per file.

// Chunk is a piece of a file's content: its digest (chunkID), and its
// bytes when the sender does not expect the host to hold them.
type Chunk struct {
	ID      string `json:"id"`
	Content []byte `json:"content,omitempty"`
}

const (
	chunkMin  = 1 << 10
	chunkBits = 12 // a boundary every 4 KiB on average
	chunkMax  = 64 << 10
	// maxChunks bounds the pieces of one file: a larger file travels whole.
	maxChunks = maxReadSize / chunkMin
)

// gear drives the rolling hash. Both ends must cut alike, so the table is
// fixed: derived from SHA-256, not from a random seed.
var gear = func() (g [256]uint64) {
	for i := range g {
		s := sha256.Sum256([]byte{'g', byte(i)})
		g[i] = binary.LittleEndian.Uint64(s[:8])
	}
	return g
}()

// cutChunks cuts b where the rolling hash of the bytes before says so,
// between chunkMin and chunkMax bytes apart. The pieces share b's memory.
func cutChunks(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		n := len(b)
		if n > chunkMin {
			var h uint64
			end := min(n, chunkMax)
			n = end
			for i := chunkMin; i < end; i++ {
				h = h<<1 + gear[b[i]]
				// The top bits: they depend on the last 64 bytes,
				// the low ones on the last few only.
				if h>>(64-chunkBits) == 0 {
					n = i + 1
					break
				}
			}
		}
		out = append(out, b[:n])
		b = b[n:]
	}
	return out
}

// chunkID names a chunk by the first 16 bytes of its SHA-256: a collision
// could only make the rebuilt file fail its whole-file digest check, which
// is then sent in full.
func chunkID(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// ChunkIDs are the ids of b's chunks, in order.
func ChunkIDs(b []byte) []string {
	pieces := cutChunks(b)
	ids := make([]string, len(pieces))
	for i, p := range pieces {
		ids[i] = chunkID(p)
	}
	return ids
}

// Chunked returns f described by its digest, its content as chunks: those
// whose id is in held by id only, the others with their bytes.
func (f File) Chunked(held map[string]bool) File {
	f = f.WithDigest()
	for _, p := range cutChunks(f.Content) {
		c := Chunk{ID: chunkID(p)}
		if !held[c.ID] {
			c.Content = p
		}
		f.Chunks = append(f.Chunks, c)
	}
	f.Content = nil
	return f
}

// validateChunks checks a chunked file before anything is touched.
func validateChunks(f File) error {
	switch {
	case len(f.Chunks) == 0:
		return nil
	case f.Content != nil || f.SHA256 == "" || f.HostSearchAt != 0:
		return fmt.Errorf("file %s: chunks go with a sha256 and no content", f.Path)
	case len(f.Chunks) > maxChunks:
		return fmt.Errorf("file %s: %d chunks, more than %d", f.Path, len(f.Chunks), maxChunks)
	case f.Size < 0 || f.Size > maxReadSize:
		return fmt.Errorf("file %s: size %d of its chunks out of range (at most %d)", f.Path, f.Size, maxReadSize)
	}
	return nil
}

// withChunksResolved rebuilds the content of each chunked file from its
// chunks and those of the file the host holds now. A file it cannot rebuild
// (a chunk neither sent nor held, or a result that does not match the
// file's digest) stays withheld, so a write asks for its content
// (needContent). The caller's slice is not changed.
func withChunksResolved(files []File) []File {
	if !slices.ContainsFunc(files, func(f File) bool { return len(f.Chunks) > 0 }) {
		return files
	}
	out := make([]File, len(files))
	for i, f := range files {
		if len(f.Chunks) > 0 {
			f.Content = rebuild(f)
			f.Chunks = nil
			if f.Content != nil && (len(f.Content) != f.Size || contentDigest(f.Content) != f.SHA256) {
				f.Content = nil
			}
		}
		out[i] = f
	}
	return out
}

// rebuild is f's content, or nil when a chunk is missing.
func rebuild(f File) []byte {
	var held map[string][]byte
	b := make([]byte, 0, f.Size)
	for _, c := range f.Chunks {
		p := c.Content
		if p == nil {
			if held == nil {
				held = heldChunks(f.Path)
			}
			if p = held[c.ID]; p == nil {
				return nil
			}
		}
		if len(b)+len(p) > f.Size {
			return nil
		}
		b = append(b, p...)
	}
	return b
}

// heldChunks are the chunks of the file at path as the host holds it, by
// id; none when it cannot be read.
func heldChunks(path string) map[string][]byte {
	cur, _, err := readOwnedFile(path)
	if err != nil {
		return map[string][]byte{}
	}
	m := map[string][]byte{}
	for _, p := range cutChunks(cur) {
		m[chunkID(p)] = p
	}
	return m
}

// ChunkedSize is the size from which a file's content travels as chunks:
// below it, the ids would be most of the bytes saved.
const ChunkedSize = 64 << 10

// HeldFile is what a host holds of one file: its digest and size, and the
// ids of its chunks when it is ChunkedSize or more.
type HeldFile struct {
	SHA256 string   `json:"sha256"`
	Size   int      `json:"size"`
	Chunks []string `json:"chunks,omitempty"`
}

// DescribeHeld describes content as a host holding it would.
func DescribeHeld(content []byte) HeldFile {
	h := HeldFile{SHA256: contentDigest(content), Size: len(content)}
	if len(content) >= ChunkedSize {
		h.Chunks = ChunkIDs(content)
	}
	return h
}

// HeldFiles describes the files at paths that the host holds (absent: no
// such file, or one it may not read), so a sender knows what to send.
func HeldFiles(paths []string) map[string]HeldFile {
	out := map[string]HeldFile{}
	for _, p := range paths {
		if cur, _, err := readOwnedFile(p); err == nil {
			out[p] = DescribeHeld(cur)
		}
	}
	return out
}

// HeldChunkIDs are the chunk ids of the files at paths as the host holds
// them (absent: no such file), for the answer that asks for content.
func HeldChunkIDs(paths []string) map[string][]string {
	out := map[string][]string{}
	for _, p := range paths {
		if cur, _, err := readOwnedFile(p); err == nil {
			out[p] = ChunkIDs(cur)
		}
	}
	return out
}
