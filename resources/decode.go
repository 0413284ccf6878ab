package resources

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"

	"go.yaml.in/yaml/v3"
	sigsyaml "sigs.k8s.io/yaml"
)

const supportedKinds = "apps/v1 Deployment, apps/v1 DaemonSet, v1 Service, v1 ConfigMap, v1 Secret, v1 Namespace, v1 PersistentVolumeClaim (local) and reconcile.dev/v1alpha1 Cluster"

// decodeFile returns the objects (*Deployment, *Service, *Cluster) declared
// in one file, in order, reporting every problem it finds to r. Documents
// with problems are left out.
func decodeFile(file string, data []byte, r *reporter) []any {
	return decodeStream(file, data, r, false)
}

// decodeRendered is decodeFile for what a kustomization file renders:
// the objects are named after the kustomization file, without the lines
// of the rendered stream, which are in no file the user has.
func decodeRendered(file string, data []byte, r *reporter) []any {
	return decodeStream(file, data, r, true)
}

func decodeStream(file string, data []byte, r *reporter, rendered bool) []any {
	docs, err := splitDocuments(data)
	if !r.decrypt(file, docs) {
		return nil
	}
	texts := make([][]byte, len(docs))
	// A decrypted file is decoded from its tree: its text is ciphertext.
	if !rendered && (len(docs) == 0 || !r.encrypted[docs[0]]) {
		if t := documentTexts(data, docs); t != nil {
			texts = t
		}
	}
	var objs []any
	for i, doc := range docs {
		if r.docs++; r.docs > MaxDocuments {
			r.add(&FieldError{File: file, Line: doc.Line, Message: fmt.Sprintf("the tree holds more than %d YAML documents: reconcile stops reading here; point --path at a smaller tree", MaxDocuments)})
			return objs
		}
		if o := decodeDocument(file, doc, texts[i], r, rendered); o != nil {
			objs = append(objs, o)
		}
	}
	if err != nil {
		r.add(yamlError(file, err))
	}
	return objs
}

// splitDocuments parses every document of a YAML stream ("---" separated,
// "..." terminated, JSON included), skipping empty ones. On a syntax error
// the documents before it are still returned.
func splitDocuments(data []byte) (docs []*yaml.Node, err error) {
	countParse()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("yaml: cannot parse: %v", p)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return docs, err
		}
		if len(doc.Content) == 0 {
			continue
		}
		if root := doc.Content[0]; root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
			continue
		}
		if len(docs) == MaxDocumentsPerFile {
			return docs, &FieldError{Line: doc.Line, Message: fmt.Sprintf("holds more than %d YAML documents: split it into several files", MaxDocumentsPerFile)}
		}
		docs = append(docs, &doc)
	}
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func yamlError(file string, err error) *FieldError {
	if fe, ok := err.(*FieldError); ok {
		fe.File = file
		return fe
	}
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &FieldError{File: file, Line: line, Message: "invalid YAML: " + m[2]}
	}
	return &FieldError{File: file, Message: "invalid YAML: " + msg}
}

// decodeDocument turns one document into a typed object, or reports why
// it cannot.
// text is the document as written, when the caller has it (doctext.go).
func decodeDocument(file string, doc *yaml.Node, text []byte, r *reporter, rendered bool) any {
	root := deref(doc.Content[0])
	src := Source{File: file, Line: root.Line, doc: doc}
	if rendered {
		src = Source{File: file, rendered: true}
	}
	src.Encrypted = r.encrypted[doc]
	apiVersion, kind, name := scalarAt(root, "apiVersion"), scalarAt(root, "kind"), ""
	if meta := valueAt(root, "metadata"); meta != nil {
		name = scalarAt(meta, "name")
	}
	o := r.object(src, kind, name)
	if !withinExpansion(doc) {
		o.errorf("", "its YAML aliases expand to more than %d nodes: write the values out, or use fewer aliases", MaxDocumentNodes)
		return nil
	}
	if root.Kind != yaml.MappingNode {
		o.errorf("", "a document must be an object with apiVersion and kind, not %s", describe(root))
		return nil
	}
	var target any
	switch {
	case kind == "":
		o.errorf("kind", "required: reconcile supports %s", supportedKinds)
	case apiVersion == "":
		o.errorf("apiVersion", "required")
	case kind == "Deployment" && apiVersion == "apps/v1":
		target = &Deployment{Source: src}
	case kind == "DaemonSet" && apiVersion == "apps/v1":
		target = &DaemonSet{Source: src}
	case kind == "Service" && apiVersion == "v1":
		target = &Service{Source: src}
	case kind == ClusterKind && apiVersion == ClusterAPIVersion:
		target = &Cluster{Source: src}
	case kind == "ConfigMap" && apiVersion == "v1":
		target = &ConfigMap{Source: src}
	case kind == "Secret" && apiVersion == "v1":
		target = &Secret{Source: src, Plaintext: secretInClear(root)}
	case kind == "Namespace" && apiVersion == "v1":
		target = &Namespace{Source: src}
	case kind == "PersistentVolumeClaim" && apiVersion == "v1":
		target = &PersistentVolumeClaim{Source: src}
	case kind == "Deployment", kind == "DaemonSet", kind == "Service", kind == ClusterKind, kind == "ConfigMap", kind == "Secret", kind == "Namespace", kind == "PersistentVolumeClaim":
		want := map[string]string{"Deployment": "apps/v1", "DaemonSet": "apps/v1", ClusterKind: ClusterAPIVersion}[kind]
		if want == "" {
			want = "v1"
		}
		o.errorf("apiVersion", "unsupported apiVersion %q for %s: use %s", apiVersion, kind, want)
	default:
		o.errorf("kind", "unsupported kind %s %s: reconcile supports %s", apiVersion, kind, supportedKinds)
	}
	if target == nil {
		return nil
	}
	before := r.n
	checkNode(o, root, reflect.TypeOf(target), "", 0)
	if r.n > before {
		return nil
	}
	if err := unmarshal(doc, text, target); err != nil {
		field := ""
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field = te.Field
		}
		o.errorf(field, "%v", err)
		return nil
	}
	return target
}

// secretInClear says whether a Secret document holds values in plain
// text: data or stringData, and no SOPS metadata (a "sops:" key, which
// every SOPS-encrypted manifest carries).
func secretInClear(root *yaml.Node) bool {
	if valueAt(root, "sops") != nil {
		return false
	}
	for _, f := range []string{"data", "stringData"} {
		if v := valueAt(root, f); v != nil && v.Kind == yaml.MappingNode && len(v.Content) > 0 {
			return true
		}
	}
	return false
}

// unmarshal decodes with sigs.k8s.io/yaml, as kubectl does, so values mean
// what they mean to Kubernetes: from the document's own text when there is
// one, else from the tree written out again. Most documents take a
// shorter way to the same values (treeJSON); a document that does not, or
// that the JSON decoder refuses, is decoded as before, which words the
// error.
func unmarshal(doc *yaml.Node, text []byte, target any) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("cannot decode: %v", p)
		}
	}()
	if text != nil && decodeFromText && decodeFromTree {
		if j, ok := treeJSON(doc, text, reflect.TypeOf(target)); ok {
			v := reflect.ValueOf(target).Elem()
			before := reflect.New(v.Type()).Elem()
			before.Set(v)
			if json.Unmarshal(j, target) == nil {
				return nil
			}
			v.Set(before)
		}
	}
	if text == nil || !decodeFromText {
		if text, err = yaml.Marshal(doc); err != nil {
			return err
		}
	}
	return sigsyaml.Unmarshal(text, target)
}

// decodeFromText is off only in the test that checks both ways agree;
// decodeFromTree (treeJSON) only in the one that checks it against
// sigs.k8s.io/yaml.
var decodeFromText, decodeFromTree = true, true

func valueAt(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	_, v := lookupKey(m, key)
	return deref(v)
}

func scalarAt(m *yaml.Node, key string) string {
	v := valueAt(m, key)
	if v == nil || v.Kind != yaml.ScalarNode {
		return ""
	}
	return v.Value
}

// withinExpansion reports whether doc, with every alias expanded, has at
// most MaxDocumentNodes nodes. The checks and the decoder walk a document
// expanded, so an anchor referenced thousands of times (or nested
// anchors, or an alias inside its own anchor) would otherwise cost time
// and memory exponential in the document's size. Sizes of anchored
// nodes are memoized, so this is linear in the document as written.
func withinExpansion(doc *yaml.Node) bool {
	sizes := map[*yaml.Node]int{}
	const inProgress = -1
	var size func(n *yaml.Node, depth int) int
	size = func(n *yaml.Node, depth int) int {
		if n.Kind == yaml.AliasNode {
			if n.Alias == nil {
				return 1
			}
			n = n.Alias
		}
		switch s, ok := sizes[n]; {
		case ok && s == inProgress: // an alias inside its own anchor
			return MaxDocumentNodes + 1
		case ok:
			return s
		}
		if depth > 1000 {
			return MaxDocumentNodes + 1
		}
		total := 1
		if n.Anchor != "" {
			sizes[n] = inProgress
		}
		for _, c := range n.Content {
			if total += size(c, depth+1); total > MaxDocumentNodes {
				break
			}
		}
		if n.Anchor != "" {
			sizes[n] = total
		}
		return total
	}
	return size(doc, 0) <= MaxDocumentNodes
}
