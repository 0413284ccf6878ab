package cli

import (
	"bytes"
	"errors"
	"log/slog"
	"testing"
)

func TestPlainHandler(t *testing.T) {
	tests := []struct {
		name string
		log  func(*slog.Logger)
		want string
	}{
		{"info", func(l *slog.Logger) { l.Info("sync pass", "outcome", "in-sync", "calls", 3) }, "sync pass outcome=in-sync calls=3\n"},
		{"warning quotes", func(l *slog.Logger) {
			l.Warn("node unreachable", "node", "node-3", "err", errors.New("dial tcp: refused"))
		}, "warning: node unreachable node=node-3 err=\"dial tcp: refused\"\n"},
		{"error", func(l *slog.Logger) { l.Error("boom") }, "error: boom\n"},
		{"debug hidden", func(l *slog.Logger) { l.Debug("detail") }, ""},
		{"with attrs", func(l *slog.Logger) { l.With("node", "node-1").Info("ok", "empty", "") }, "ok node=node-1 empty=\"\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			tt.log(slog.New(newPlainHandler(&b, slog.LevelInfo)))
			if b.String() != tt.want {
				t.Errorf("got %q, want %q", b.String(), tt.want)
			}
		})
	}
}
