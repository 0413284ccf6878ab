package cli

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/reconcile-dev/reconcile/resources"
)

// No output of get, diff or render, in any format, holds a test Secret's
// value, plain or base64 (testSecrets puts testSecretValue in every one).
func TestNoSecretValueInOutput(t *testing.T) {
	leaks := []string{testSecretValue, base64.StdEncoding.EncodeToString([]byte(testSecretValue))}
	check := func(t *testing.T, what, out string) {
		t.Helper()
		if out == "" {
			t.Fatalf("%s printed nothing: the check would pass vacuously", what)
		}
		for _, l := range leaks {
			if strings.Contains(out, l) {
				t.Errorf("%s shows a secret value %q:\n%s", what, l, out)
			}
		}
	}
	kinds := map[string]func(*view, *bytes.Buffer) error{
		"pods":       func(v *view, w *bytes.Buffer) error { return v.printPods(w) },
		"services":   func(v *view, w *bytes.Buffer) error { return v.printServices(w) },
		"configmaps": func(v *view, w *bytes.Buffer) error { return v.printConfigMaps(w) },
		"secrets":    func(v *view, w *bytes.Buffer) error { return v.printSecrets(w) },
		"namespaces": func(v *view, w *bytes.Buffer) error { return v.printNamespaces(w) },
	}
	for kind, print := range kinds {
		for _, format := range []string{"", "wide", "json", "yaml", "name"} {
			for _, name := range []string{"", "tls"} {
				t.Run("get "+kind+" -o "+format+" "+name, func(t *testing.T) {
					if name != "" && kind != "secrets" {
						return
					}
					var out, errOut bytes.Buffer
					v := view{status: testStatus(), flags: &readFlags{namespace: "default", allNamespaces: name == "", output: format},
						name: name, now: testNow, errOut: &errOut}
					if err := print(&v, &out); err != nil {
						t.Fatal(err)
					}
					check(t, "get", out.String()+errOut.String())
				})
			}
		}
	}
	for _, format := range []string{"text", "markdown", "json", "yaml"} {
		t.Run("diff -o "+format, func(t *testing.T) {
			var out bytes.Buffer
			if err := printPlan(&out, configPlan(), format); err != nil {
				t.Fatal(err)
			}
			check(t, "diff", out.String())
		})
	}
	t.Run("render", func(t *testing.T) {
		out, err := resources.Render(&resources.Set{Secrets: testSecrets(), ConfigMaps: testConfigMaps()})
		if err != nil {
			t.Fatal(err)
		}
		check(t, "render", string(out))
	})
}
