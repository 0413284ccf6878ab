package resources

import (
	"strings"
	"testing"
)

// The tree's .reconcileignore files skip its CI config, Helm values and a
// chart; --exclude skips more, and reports nothing for what it skips.
func TestIgnore(t *testing.T) {
	tests := []struct {
		name        string
		exclude     []string
		deployments int
		services    int
	}{
		{"ignore files", nil, 1, 1},
		{"exclude a file", []string{"service.yaml"}, 1, 0},
		{"exclude by glob", []string{"app/*.yaml"}, 0, 0},
		{"exclude a directory", []string{"/app/"}, 0, 0},
		{"negation does not un-ignore a parent's ignore", []string{"!ci/"}, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := LoadTree("testdata/ignore", TreeOptions{Exclude: tt.exclude})
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Deployments) != tt.deployments || len(s.Services) != tt.services {
				t.Errorf("got %d Deployments, %d Services", len(s.Deployments), len(s.Services))
			}
		})
	}
	// Without the ignore files the tree is invalid.
	ig := newIgnorer(nil)
	if ig.ignored("ci/workflow.yaml", false) {
		t.Error("nothing ignored without patterns")
	}
	_, err := LoadFiles("testdata/ignore", []string{"ci/workflow.yaml"})
	if err == nil || !strings.Contains(err.Error(), "kind") {
		t.Errorf("the CI file is not a manifest: %v", err)
	}
}
