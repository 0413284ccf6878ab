package resources

import (
	"strings"
	"testing"
)

// -f may name one file, as kubectl's does; errors name that file.
func TestLoadSingleFile(t *testing.T) {
	set, err := Load("testdata/seed/run-my-nginx.yaml")
	if err != nil || len(set.Deployments) != 1 || set.Deployments[0].Source.File != "run-my-nginx.yaml" {
		t.Fatalf("Load(file) = %+v, %v", set, err)
	}
	_, err = Load("testdata/broken/unknown-field.yaml")
	if err == nil || !strings.HasPrefix(err.Error(), "unknown-field.yaml:") {
		t.Errorf("error %q does not start with the file's name", err)
	}
}
