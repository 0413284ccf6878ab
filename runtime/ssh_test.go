package runtime

import (
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestResolve(t *testing.T) {
	home := isolateHome(t)
	cfgPath := writeFile(t, filepath.Join(home, "cfg"), `
Host node-*
  HostName %h.lab.example
  GlobalKnownHostsFile ~/gkh
  IdentitiesOnly yes
  Port 2222
  User admin
  IdentityFile ~/.ssh/%r@%h
  UserKnownHostsFile ~/kh1 /etc/kh2
  ConnectTimeout 4

Host slow
  ConnectTimeout soon

Host badport
  Port x

Host behind
  ProxyJump bastion

Host *
  IdentityFile ~/.ssh/fallback
`)
	dflt := func(e endpoint) endpoint {
		if e.keyFiles == nil {
			e.keyFiles = []string{home + "/.ssh/id_ed25519", home + "/.ssh/id_ecdsa", home + "/.ssh/id_rsa"}
		}
		if e.knownHosts == nil {
			e.knownHosts = []string{home + "/.ssh/known_hosts"}
		}
		if e.globalKnownHosts == nil {
			e.globalKnownHosts = []string{"/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"}
		}
		if e.timeout == 0 {
			e.timeout = 10 * time.Second
		}
		if e.socket == "" {
			e.socket = "/var/run/docker.sock"
		}
		if e.user == "" {
			e.user = "root"
		}
		if e.port == "" {
			e.port = "22"
		}
		return e
	}
	tests := []struct {
		name    string
		target  Target
		opts    SSHOptions
		want    endpoint
		wantErr string
	}{
		{
			name:   "user at address",
			target: Target{Name: "n", SSH: "core@198.51.100.11"},
			want:   dflt(endpoint{name: "n", alias: "198.51.100.11", hostname: "198.51.100.11", user: "core"}),
		},
		{
			name:   "address and port, local user",
			target: Target{Name: "n", SSH: "198.51.100.11:2200", DockerHost: "unix:///run/docker.sock"},
			want:   dflt(endpoint{name: "n", alias: "198.51.100.11", hostname: "198.51.100.11", port: "2200", socket: "/run/docker.sock"}),
		},
		{
			name:   "bracketed IPv6 with port",
			target: Target{Name: "n", SSH: "root@[2001:db8::1]:2200"},
			want:   dflt(endpoint{name: "n", alias: "2001:db8::1", hostname: "2001:db8::1", port: "2200"}),
		},
		{
			name:   "bare IPv6",
			target: Target{Name: "n", SSH: "2001:db8::1"},
			want:   dflt(endpoint{name: "n", alias: "2001:db8::1", hostname: "2001:db8::1"}),
		},
		{
			name:   "ssh URL",
			target: Target{Name: "n", SSH: "ssh://u@h:23"},
			want:   dflt(endpoint{name: "n", alias: "h", hostname: "h", port: "23", user: "u"}),
		},
		{
			name:   "config alias with tokens",
			target: Target{Name: "n", SSH: "node-1"},
			opts:   SSHOptions{ConfigFile: cfgPath},
			want: endpoint{name: "n", alias: "node-1", hostname: "node-1.lab.example", port: "2222", user: "admin",
				keyFiles:   []string{home + "/.ssh/admin@node-1.lab.example", home + "/.ssh/fallback"},
				knownHosts: []string{home + "/kh1", "/etc/kh2"}, timeout: 4 * time.Second, socket: "/var/run/docker.sock",
				globalKnownHosts: []string{home + "/gkh"}, identitiesOnly: true},
		},
		{
			name:   "flags beat the config",
			target: Target{Name: "n", SSH: "me@node-1:22"},
			opts:   SSHOptions{ConfigFile: cfgPath, KeyFiles: []string{"~/k"}, KnownHostsFile: "/kh", Timeout: time.Second},
			want: endpoint{name: "n", alias: "node-1", hostname: "node-1.lab.example", port: "22", user: "me",
				keyFiles: []string{home + "/k"}, keysGiven: true, knownHosts: []string{"/kh"}, timeout: time.Second, socket: "/var/run/docker.sock",
				globalKnownHosts: []string{home + "/gkh"}, identitiesOnly: true},
		},
		{
			name:    "bad ConnectTimeout",
			target:  Target{Name: "n", SSH: "slow"},
			opts:    SSHOptions{ConfigFile: cfgPath},
			wantErr: fmt.Sprintf(`n: ConnectTimeout "soon" in %s is not a number of seconds`, cfgPath),
		},
		{
			name:    "bad port",
			target:  Target{Name: "n", SSH: "h:ssh"},
			wantErr: `n: ssh port "ssh" of h:ssh is not a port number`,
		},
		{
			name:    "bad port in the config",
			target:  Target{Name: "n", SSH: "badport"},
			opts:    SSHOptions{ConfigFile: cfgPath},
			wantErr: fmt.Sprintf(`n: ssh port "x" of Port in %s is not a port number`, cfgPath),
		},
		{
			name:    "jump host",
			target:  Target{Name: "n", SSH: "behind"},
			opts:    SSHOptions{ConfigFile: cfgPath},
			wantErr: fmt.Sprintf(`n: ProxyJump "bastion" in %s is not supported: make the host reachable directly`, cfgPath),
		},
		{
			name:    "empty user",
			target:  Target{Name: "n", SSH: "@h"},
			wantErr: `n: ssh address "@h": empty user before @`,
		},
		{
			name:    "no address",
			target:  Target{Name: "n"},
			wantErr: `n: no ssh address: set spec.nodes[].ssh in the cluster inventory`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := resolve(tt.target, tt.opts)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error:\n got: %v\nwant: %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("resolve:\n got: %+v\nwant: %+v", got, tt.want)
			}
		})
	}
}
