package agent

import (
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"fmt"
	"io"
	"slices"
	"sync"
)

// The contents of the files an apply carries travel after the request's
// JSON, raw, rather than base64 in it: decoding megabytes of base64
// strings from JSON was most of the agent's time to read a 2,000-Service
// apply (174-394 ms on the lab's loaded hosts for 3.6 MB).

// Detached names one content that follows the JSON: the file's own (Chunk
// -1) or one of its chunks, and how many bytes it is. They follow in the
// order of the list.
type Detached struct {
	File  int `json:"file"`
	Chunk int `json:"chunk"`
	Len   int `json:"len"`
}

// maxPayload bounds what an apply may carry after its JSON, decompressed
// (2,000 Services: under 3 MB).
const maxPayload = 256 << 20

// deflateFrom is the payload size from which it is deflated: the endpoints
// file and the DNS records are JSON, a tenth of their size deflated, and
// the SSH transfer of megabytes to every host was the agent's wait.
const deflateFrom = 64 << 10

// deflated is the last payload deflated, by digest: every host of a pass
// gets the same contents, deflated once.
var deflated struct {
	mu  sync.Mutex
	sum [32]byte
	out []byte
}

func deflate(b []byte) []byte {
	sum := sha256.Sum256(b)
	deflated.mu.Lock()
	defer deflated.mu.Unlock()
	if deflated.out != nil && deflated.sum == sum {
		return deflated.out
	}
	var out bytes.Buffer
	w, _ := flate.NewWriter(&out, flate.BestSpeed)
	w.Write(b)
	w.Close()
	deflated.sum, deflated.out = sum, out.Bytes()
	return deflated.out
}

// detach moves every file and chunk content of r out of it, into the
// payload it returns (the caller's files and chunks are not changed).
func (r *ApplyRequest) detach() []byte {
	var payload bytes.Buffer
	files := slices.Clone(r.Config.Files)
	for i := range files {
		f := &files[i]
		if f.Content != nil {
			r.Detached = append(r.Detached, Detached{File: i, Chunk: -1, Len: len(f.Content)})
			payload.Write(f.Content)
			f.Content = nil
		}
		if len(f.Chunks) > 0 {
			f.Chunks = slices.Clone(f.Chunks)
			for j := range f.Chunks {
				if c := &f.Chunks[j]; c.Content != nil {
					r.Detached = append(r.Detached, Detached{File: i, Chunk: j, Len: len(c.Content)})
					payload.Write(c.Content)
					c.Content = nil
				}
			}
		}
	}
	r.Config.Files = files
	if payload.Len() >= deflateFrom {
		r.Deflated = true
		return deflate(payload.Bytes())
	}
	return payload.Bytes()
}

// attach reads the contents r.Detached names from in and puts them back.
func (r *ApplyRequest) attach(in io.Reader) error {
	total := 0
	for _, d := range r.Detached {
		if d.File < 0 || d.File >= len(r.Config.Files) || d.Chunk < -1 || d.Chunk >= len(r.Config.Files[d.File].Chunks) || d.Len < 0 {
			return fmt.Errorf("detached content %+v: no such file or chunk", d)
		}
		if total += d.Len; total > maxPayload {
			return fmt.Errorf("detached contents: more than %d bytes", maxPayload)
		}
	}
	if total == 0 && len(r.Detached) == 0 {
		return nil
	}
	if r.Deflated {
		in = flate.NewReader(in)
	}
	payload := make([]byte, total)
	if _, err := io.ReadFull(in, payload); err != nil {
		return fmt.Errorf("detached contents: %d bytes announced: %w", total, err)
	}
	for _, d := range r.Detached {
		b := payload[:d.Len:d.Len]
		payload = payload[d.Len:]
		f := &r.Config.Files[d.File]
		if d.Chunk < 0 {
			f.Content = b
		} else {
			f.Chunks[d.Chunk].Content = b
		}
	}
	r.Detached, r.Deflated = nil, false
	return nil
}
