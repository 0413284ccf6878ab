package reconcile

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	rnet "github.com/reconcile-dev/reconcile/net"
)

// Lock runs `reconcile node lock` on the host: the lock file is read and
// written there, under the host's own clock.
func (s *sshHost) Lock(ctx context.Context, req rnet.LockRequest) (*rnet.LockResponse, error) {
	in, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	out, err := s.h.Run(ctx, bytes.NewReader(in), s.agent+" node lock")
	if err != nil {
		return nil, err
	}
	var res rnet.LockResponse
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, fmt.Errorf("%s: node agent answered %q: %w", s.h.Name, truncate(string(out), 200), err)
	}
	return &res, nil
}
