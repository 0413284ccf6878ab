package gitsource

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/transport"
)

func TestSSHHostPort(t *testing.T) {
	tests := []struct{ url, want string }{
		{"git@example.com:team/app.git", "example.com:22"},
		{"ssh://git@example.com/team/app.git", "example.com:22"},
		{"ssh://git@example.com:2222/team/app.git", "example.com:2222"},
		{"ssh://root@198.51.100.11/srv/git/app.git", "198.51.100.11:22"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			ep, err := transport.NewEndpoint(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			if ep.Protocol != "ssh" {
				t.Errorf("protocol %s, want ssh", ep.Protocol)
			}
			if got := sshHostPort(ep); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestKnownHostsFiles(t *testing.T) {
	if _, err := os.Stat("/etc/ssh/ssh_known_hosts"); err == nil {
		t.Skip("/etc/ssh/ssh_known_hosts exists, so a missing ~/.ssh/known_hosts is no error")
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	missing := filepath.Join(home, "nope")
	tests := []struct {
		name, given, addr string
		wantErr           string
	}{
		{"no user file, port 22", "", "git.example.com:22",
			fmt.Sprintf("git: %[1]s/.ssh/known_hosts does not exist, so the host key of git.example.com cannot be checked; add it with ssh-keyscan git.example.com >> %[1]s/.ssh/known_hosts, or ssh to the host once by hand, or pass --known-hosts FILE", home)},
		{"no user file, other port", "", "198.51.100.11:2222",
			fmt.Sprintf("git: %[1]s/.ssh/known_hosts does not exist, so the host key of [198.51.100.11]:2222 cannot be checked; add it with ssh-keyscan -p 2222 198.51.100.11 >> %[1]s/.ssh/known_hosts, or ssh to the host once by hand, or pass --known-hosts FILE", home)},
		{"given file missing", missing, "git.example.com:22",
			fmt.Sprintf("git: known_hosts file: stat %s: no such file or directory; pass an existing file to --known-hosts", missing)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadKnownHosts(tt.given, tt.addr)
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("error:\n got: %v\nwant: %s", err, tt.wantErr)
			}
		})
	}
}
