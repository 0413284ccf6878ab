package resources

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	sigsyaml "sigs.k8s.io/yaml"
)

// decodeBoth decodes one document's text into a new T with
// sigs.k8s.io/yaml and with unmarshal, and says whether unmarshal took
// the tree's JSON (treeJSON).
func decodeBoth[T any](t *testing.T, text []byte) (want, got *T, wantErr, gotErr error, fromTree bool) {
	t.Helper()
	docs, err := splitDocuments(text)
	if err != nil || len(docs) != 1 {
		t.Fatalf("%d documents, %v", len(docs), err)
	}
	texts := documentTexts(text, docs)
	if texts == nil {
		t.Fatal("no text for the document")
	}
	want, got = new(T), new(T)
	wantErr = sigsyaml.Unmarshal(texts[0], want)
	gotErr = unmarshal(docs[0], texts[0], got)
	if j, ok := treeJSON(docs[0], texts[0], reflect.TypeFor[*T]()); ok {
		fromTree = json.Unmarshal(j, new(T)) == nil
	}
	return want, got, wantErr, gotErr, fromTree
}

// The tree's JSON means what sigs.k8s.io/yaml's means, value for value, in
// the cases where YAML 1.1 and a string field make it easy to get wrong;
// those it cannot vouch for are decoded as before.
func TestTreeJSONAgrees(t *testing.T) {
	deploy := func(extra string) string {
		return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web, version: 2, canary: true, big: 12345678901234}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        ports: [{containerPort: 80, name: http}]
` + extra
	}
	tests := []struct {
		name     string
		text     string
		fromTree bool
	}{
		{"plain words, ints, booleans into strings", deploy(`        env:
        - {name: A, value: 8080}
        - {name: B, value: true}
        - {name: C, value: "quoted: yes"}
        - {name: D, value: 'single'}
        - {name: E, value: -17}
        - {name: F, value: 0}
        - {name: G, value: ~}
        - {name: H, value: FALSE}
        - name: I
          value: |
            a block
            with lines
        - name: J
          value: >
            folded
            text
        - {name: K, value: "tab\tand \"quotes\" and \\ and é"}
`), true},
		{"quantities and int-or-string decode themselves", deploy(`        resources:
          limits: {cpu: 2, memory: 128Mi}
          requests: {cpu: 500m}
        readinessProbe:
          httpGet: {path: /, port: 80}
        livenessProbe:
          tcpSocket: {port: http}
`), true},
		{"a YAML 1.1 yes", deploy("        env: [{name: A, value: yes}]\n"), false},
		{"an octal number", deploy("        env: [{name: A, value: 0777}]\n"), false},
		{"a float", deploy("        resources: {limits: {cpu: 1.5}}\n"), false},
		{"a plus sign", deploy("        env: [{name: A, value: +5}]\n"), false},
		{"a minus zero", deploy("        env: [{name: A, value: -0}]\n"), false},
		{"a date", deploy("        env: [{name: A, value: 2001-12-14}]\n"), false},
		{"an explicit tag", deploy("        env: [{name: A, value: !!str 12}]\n"), false},
		{"a non-specific tag", deploy("        env: [{name: A, value: ! 12}]\n"), false},
		{"an alias", deploy("        env: [{name: A, value: &v x}, {name: B, value: *v}]\n"), false},
		{"a number too long", deploy("        env: [{name: A, value: 1234567890123456789012}]\n"), false},
		{"a field in other case", deploy("        Env: [{name: A, value: x}]\n"), false},
		{"an on", deploy("        env: [{name: A, value: on}]\n"), false},
		{"strings that start like numbers", deploy("        env: [{name: A, value: 10.96.0.10}, {name: B, value: 128Mi}, {name: C, value: 1.2.3}, {name: D, value: .hidden}, {name: E, value: 12:30}]\n"), true},
		{"a version that is a float", deploy("        env: [{name: A, value: 1.25}]\n"), false},
		{"an exponent", deploy("        env: [{name: A, value: 1e3}]\n"), false},
		{"a hex number", deploy("        env: [{name: A, value: 0x1F}]\n"), false},
		{"underscores", deploy("        env: [{name: A, value: 1_000}]\n"), false},
		{"an infinity", deploy("        env: [{name: A, value: +.inf}]\n"), false},
		{"a word that starts like a boolean", deploy("        env: [{name: A, value: nginx}, {name: B, value: offline}]\n"), true},
		{"a duplicate label", strings.Replace(deploy(""), "labels: {app: web, version: 2,", "labels: {app: web, app: x, version: 2,", 1), false},
		{"an int key", strings.Replace(deploy(""), "labels: {app: web, version: 2,", "labels: {1: web, version: 2,", 1), false},
		{"a boolean for a string map under an inline struct (an error both ways)", deploy("      nodeSelector: {gpu: true}\n"), false},
		{"an empty value", deploy("        env: [{name: A, value: }]\n"), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want, got, wantErr, gotErr, fromTree := decodeBoth[Deployment](t, []byte(tc.text))
			if fromTree != tc.fromTree {
				t.Errorf("decoded from the tree: %v, want %v", fromTree, tc.fromTree)
			}
			if (wantErr == nil) != (gotErr == nil) || (wantErr != nil && wantErr.Error() != gotErr.Error()) {
				t.Fatalf("error %v, sigs.k8s.io/yaml's %v", gotErr, wantErr)
			}
			if !reflect.DeepEqual(want, got) {
				w, _ := json.Marshal(want)
				g, _ := json.Marshal(got)
				t.Errorf("decoded\n%s\nsigs.k8s.io/yaml decodes\n%s", g, w)
			}
		})
	}
}

// Every document the repository's trees hold decodes to the same object
// either way, and most take the tree's JSON.
func TestTreeJSONCorpus(t *testing.T) {
	var files []string
	for _, root := range []string{"testdata", filepath.Join("..", "examples")} {
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
				files = append(files, p)
			}
			return nil
		})
	}
	targets := map[string]func() any{
		"Deployment": func() any { return &Deployment{} }, "DaemonSet": func() any { return &DaemonSet{} },
		"Service": func() any { return &Service{} }, "ConfigMap": func() any { return &ConfigMap{} },
		"Secret": func() any { return &Secret{} }, "Namespace": func() any { return &Namespace{} },
		"PersistentVolumeClaim": func() any { return &PersistentVolumeClaim{} }, ClusterKind: func() any { return &Cluster{} },
	}
	docs, fromTree := 0, 0
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		nodes, _ := splitDocuments(data)
		texts := documentTexts(data, nodes)
		if texts == nil {
			continue
		}
		for i, doc := range nodes {
			newT, ok := targets[scalarAt(deref(doc.Content[0]), "kind")]
			if !ok {
				continue
			}
			docs++
			want, got := newT(), newT()
			wantErr := sigsyaml.Unmarshal(texts[i], want)
			gotErr := unmarshal(doc, texts[i], got)
			if errString(wantErr) != errString(gotErr) {
				t.Errorf("%s, document %d: error %v, sigs.k8s.io/yaml's %v", file, i+1, gotErr, wantErr)
			}
			if !reflect.DeepEqual(want, got) {
				t.Errorf("%s, document %d: decodes differently from sigs.k8s.io/yaml", file, i+1)
			}
			if j, ok := treeJSON(doc, texts[i], reflect.TypeOf(got)); ok && json.Unmarshal(j, newT()) == nil {
				fromTree++
			}
		}
	}
	if docs < 50 || fromTree < docs/2 {
		t.Errorf("%d documents, %d of them from the tree's JSON", docs, fromTree)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return errors.Unwrap(err).Error() + err.Error()
}

// FuzzTreeJSON: whatever the text, unmarshal decodes a Deployment, a
// Service or a ConfigMap to what sigs.k8s.io/yaml makes of it, or fails
// with its error.
func FuzzTreeJSON(f *testing.F) {
	f.Add("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, labels: {v: 2}}\nspec:\n  replicas: 3\n  template:\n    spec:\n      containers:\n      - {name: web, image: nginx, env: [{name: A, value: 8080}], resources: {limits: {cpu: 2}}}\n")
	f.Add("apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  clusterIP: 10.96.0.10\n  ports: [{port: 80, targetPort: http}]\n")
	f.Add("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: 'x', b: |\n    text\n  }\n")
	f.Fuzz(func(t *testing.T, text string) {
		docs, err := splitDocuments([]byte(text))
		if err != nil || len(docs) != 1 || deref(docs[0].Content[0]).Kind != yaml.MappingNode || !withinExpansion(docs[0]) {
			return
		}
		texts := documentTexts([]byte(text), docs)
		if texts == nil {
			return
		}
		for _, newT := range []func() any{func() any { return &Deployment{} }, func() any { return &Service{} }, func() any { return &ConfigMap{} }} {
			want, got := newT(), newT()
			wantErr := func() (err error) {
				defer func() {
					if p := recover(); p != nil {
						err = errors.New("panic")
					}
				}()
				return sigsyaml.Unmarshal(texts[0], want)
			}()
			if wantErr != nil && wantErr.Error() == "panic" {
				return
			}
			gotErr := unmarshal(docs[0], texts[0], got)
			if (wantErr == nil) != (gotErr == nil) {
				t.Fatalf("error %v, sigs.k8s.io/yaml's %v", gotErr, wantErr)
			}
			if wantErr == nil && !reflect.DeepEqual(want, got) {
				w, _ := json.Marshal(want)
				g, _ := json.Marshal(got)
				t.Fatalf("decoded\n%s\nsigs.k8s.io/yaml decodes\n%s", g, w)
			}
		}
	})
}
