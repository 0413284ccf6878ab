package resources

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// maxFuzzInput keeps fuzz inputs small. The fuzzer minimizes every new
// interesting input before it goes on, and its exec count stands still
// meanwhile: minimizing a 13 KB input outlasts the whole 15 s CI run
// (make fuzz also bounds each minimization with -fuzzminimizetime=1s).
// The limits on large inputs are tested directly (limits_test.go and
// the broken/ cases); the fuzzer's job is the odd shapes.
const maxFuzzInput = 4 << 10

// FuzzDecode feeds arbitrary bytes through decoding, defaulting,
// validation and rendering; none of it may panic.
func FuzzDecode(f *testing.F) {
	filepath.WalkDir("testdata", func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() && isManifest(p) {
			if b, err := os.ReadFile(p); err == nil && len(b) <= maxFuzzInput {
				f.Add(b)
			}
		}
		return nil
	})
	f.Add([]byte("---\n...\n---\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzInput {
			return
		}
		r := &reporter{}
		s := &Set{}
		for _, o := range decodeFile("fuzz.yaml", data, r) {
			switch o := o.(type) {
			case *Deployment:
				o.Default()
				validateDeployment(r, o)
				o.TemplateHash()
				o.RollingParams()
				_ = o.Spec.Selector.String()
				if _, err := Expose(o, ExposeOptions{}); err == nil {
					s.Deployments = append(s.Deployments, o)
				}
			case *Service:
				o.Default()
				validateService(r, o)
				s.Services = append(s.Services, o)
			case *Cluster:
				o.Default()
				validateCluster(r, o)
				s.Cluster = o
			}
		}
		validateSet(r, s)
		r.result()
		if _, err := Render(s); err != nil {
			t.Fatalf("render: %v", err)
		}
	})
}
