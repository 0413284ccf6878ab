package agent

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// maxServiceRequest bounds the request of a host service (the cluster DNS
// server, the supervisor) read from stdin.
const maxServiceRequest = 1 << 20

// readServiceRequest decodes the request of a host-service verb into req:
// from the environment variable env, where the container that Docker
// restarts keeps it (a restarted container has no stdin), or else from in,
// as a verb run by hand gets it.
func readServiceRequest(verb, env string, in io.Reader, req any) error {
	var err error
	if s := os.Getenv(env); s != "" {
		err = json.Unmarshal([]byte(s), req)
	} else {
		err = json.NewDecoder(io.LimitReader(in, maxServiceRequest)).Decode(req)
	}
	if err != nil {
		return fmt.Errorf("read %s request: %w", verb, err)
	}
	return nil
}
