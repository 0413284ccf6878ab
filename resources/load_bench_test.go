package resources

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkLoadServices is the manifest load of a no-op run at the scale of
// make bench's Service rows: 2,000 Services and their Deployment, one file
// each.
func BenchmarkLoadServices(b *testing.B) {
	dir := b.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	write("deploy.yaml", fmt.Sprintf(deploymentYAML, "ep"))
	for i := range 2000 {
		write(fmt.Sprintf("svc-%04d.yaml", i), fmt.Sprintf(`apiVersion: v1
kind: Service
metadata:
  name: svc-%04d
  labels: {app: ep}
spec:
  selector: {app: ep}
  ports:
  - {name: http, port: 80, targetPort: 8080}
`, i))
	}
	cache := filepath.Join(b.TempDir(), "parsed.bin")
	for _, c := range []struct{ name, cache string }{{"parse", ""}, {"parse-cache-warm", cache}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				s, err := LoadTree(dir, TreeOptions{ParseCache: c.cache})
				if err != nil {
					b.Fatal(err)
				}
				if len(s.Services) != 2000 {
					b.Fatalf("%d Services", len(s.Services))
				}
			}
		})
	}
}
