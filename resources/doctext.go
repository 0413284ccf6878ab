package resources

import (
	"bytes"

	"go.yaml.in/yaml/v3"
)

// documentTexts cuts a file's text into the text of each of its documents,
// the way kubectl splits a stream (a line that is "---" and blanks), so each
// document is decoded from what the user wrote: one YAML parse for the
// values instead of re-emitting the parsed tree and parsing that again (at
// 2,000 objects that second round was a third of a no-op run's CPU).
//
// It returns nil, and the caller decodes from the tree, whenever the cut
// is not plainly one text per parsed document: directives, "..." ends,
// content on a "---" line, or any other way the counts or lines disagree.
func documentTexts(data []byte, docs []*yaml.Node) [][]byte {
	type chunk struct {
		text       []byte
		first, end int // lines [first, end), 1-based
	}
	var chunks []chunk
	start, startLine, line := 0, 1, 1
	for off := 0; off <= len(data); {
		nl := bytes.IndexByte(data[off:], '\n')
		next := len(data) + 1
		text := data[off:]
		if nl >= 0 {
			next = off + nl + 1
			text = data[off : off+nl]
		}
		switch {
		case bytes.HasPrefix(text, []byte("%")), bytes.HasPrefix(text, []byte("...")):
			return nil
		case bytes.HasPrefix(text, []byte("---")):
			if len(bytes.TrimRight(text[3:], " \t\r")) != 0 {
				return nil
			}
			chunks = append(chunks, chunk{data[start:off], startLine, line})
			start, startLine = min(next, len(data)), line+1
		}
		off = next
		line++
	}
	chunks = append(chunks, chunk{data[start:], startLine, line})

	texts := make([][]byte, len(docs))
	used := -1
	for i, doc := range docs {
		if len(doc.Content) == 0 {
			return nil
		}
		at := doc.Content[0].Line
		found := false
		for c := used + 1; c < len(chunks); c++ {
			if at >= chunks[c].first && at < chunks[c].end {
				texts[i], used, found = chunks[c].text, c, true
				break
			}
		}
		if !found {
			return nil
		}
	}
	return texts
}
