package resources

import (
	"fmt"
	"runtime"
	"sync"

	"go.yaml.in/yaml/v3"
)

// manifestFile is one file of the tree, read and within the size bounds.
type manifestFile struct {
	name string
	data []byte
}

// decodeFiles is decodeFile for every file, spread over the machine's cores:
// parsing YAML is most of a no-op run's CPU at thousands of objects. The
// result is the sequential one: objects in file order, the tree's document
// limit counted in file order, findings merged file by file into r.
func decodeFiles(files []manifestFile, r *reporter) []any {
	type split struct {
		docs  []*yaml.Node
		texts [][]byte
		err   error
	}
	splits := make([]split, len(files))
	parallel(len(files), func(i int) {
		s := &splits[i]
		s.docs, s.err = parsedDocuments(r.parsed, files[i].data)
		s.texts = documentTexts(files[i].data, s.docs)
	})

	// The document limit is the tree's, so it is applied in order, here.
	cut := len(files)
	for i := range files {
		s := &splits[i]
		if r.docs+len(s.docs) > MaxDocuments {
			over := MaxDocuments - r.docs
			r.add(&FieldError{File: files[i].name, Line: s.docs[over].Line, Message: fmt.Sprintf("the tree holds more than %d YAML documents: reconcile stops reading here; point --path at a smaller tree", MaxDocuments)})
			s.docs, s.err = s.docs[:over], nil
			r.docs = MaxDocuments + 1
			cut = i + 1
			break
		}
		r.docs += len(s.docs)
	}

	objs := make([][]any, cut)
	reps := make([]reporter, cut)
	parallel(cut, func(i int) {
		s := &splits[i]
		reps[i].decryption = r.decryption
		if !reps[i].decrypt(files[i].name, s.docs) {
			s.docs = nil
		}
		for j, doc := range s.docs {
			var text []byte
			// A decrypted file is decoded from its tree: its text is ciphertext.
			if s.texts != nil && !reps[i].encrypted[doc] {
				text = s.texts[j]
			}
			if o := decodeDocument(files[i].name, doc, text, &reps[i], false); o != nil {
				objs[i] = append(objs[i], o)
			}
		}
		if err := splits[i].err; err != nil {
			reps[i].add(yamlError(files[i].name, err))
		}
	})
	var all []any
	for i := range cut {
		r.merge(&reps[i])
		all = append(all, objs[i]...)
	}
	return all
}

// parallel runs fn(0..n-1) on as many goroutines as there are cores.
func parallel(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var next sync.Mutex
	i := 0
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				next.Lock()
				j := i
				i++
				next.Unlock()
				if j >= n {
					return
				}
				fn(j)
			}
		})
	}
	wg.Wait()
}
