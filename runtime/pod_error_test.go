package runtime

import (
	"context"
	"errors"
	"testing"
)

// A pod whose image cannot be pulled says the node and the pod once, then
// Docker's words: "node-1: create pod X: pull image nginx: ...", not
// "create pod X: node-1: pull image ..." (issue 10).
func TestCreateErrorNamesNodeOnce(t *testing.T) {
	f, p := fakeWithNetwork(t)
	delete(f.images, "nginx")
	f.pullErr = "no such host"
	s := basePodSpec()
	_, err := p.Create(context.Background(), s)
	want := "node-1: create pod my-nginx-5d4f8b9c7-x2b7q: pull image nginx: no such host"
	if err == nil || err.Error() != want {
		t.Fatalf("error\n got %v\nwant %s", err, want)
	}
	if errors.Unwrap(err) == nil {
		t.Errorf("the pull error is not wrapped: %v", err)
	}
}
