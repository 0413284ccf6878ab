package resources

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestWithHostSearches(t *testing.T) {
	cluster := []string{"default.svc.cluster.local", "svc.cluster.local", "cluster.local"}
	many := func(prefix string, n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("%s%d.example", prefix, i))
		}
		return out
	}
	long := strings.Repeat("a", 60) + ".example"
	longs := func(n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("%02d%s", i, long))
		}
		return out
	}
	tests := []struct {
		name        string
		pod         []string
		at          int
		host        []string
		want        []string
		wantDropped []string
	}{
		{"host search after the cluster's", cluster, 3, []string{"example.internal"},
			append(slices.Clone(cluster), "example.internal"), nil},
		{"before dnsConfig searches", append(slices.Clone(cluster), "mine.example"), 3, []string{"example.internal", "corp.example"},
			append(slices.Clone(cluster), "example.internal", "corp.example", "mine.example"), nil},
		{"no host resolv.conf", cluster, 3, nil, cluster, nil},
		{"duplicates keep the first", append(slices.Clone(cluster), "corp.example"), 3, []string{"cluster.local", "corp.example", "corp.example"},
			append(slices.Clone(cluster), "corp.example"), nil},
		{"32 domains at most", cluster, 3, many("h", 31),
			append(slices.Clone(cluster), many("h", 29)...), []string{"h29.example", "h30.example"}},
		{"2048 characters at most", cluster, 3, longs(30),
			append(slices.Clone(cluster), longs(30)[:28]...), longs(30)[28:]}, // 57 + 28×71 = 2045 characters,
		{"at past the end appends", []string{"a.example"}, 3, []string{"b.example"}, []string{"a.example", "b.example"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := ResolvConf{Nameservers: []string{"198.19.0.10"}, Searches: tt.pod, Options: []string{"ndots:5"}}
			before := slices.Clone(pod.Searches)
			got, dropped := WithHostSearches(pod, tt.at, ResolvConf{Nameservers: []string{"10.0.0.1"}, Searches: tt.host})
			if !slices.Equal(got.Searches, tt.want) || !slices.Equal(dropped, tt.wantDropped) {
				t.Errorf("searches\n got %q dropped %q\nwant %q dropped %q", got.Searches, dropped, tt.want, tt.wantDropped)
			}
			if len(got.Searches) > MaxDNSSearchPaths || len(strings.Join(got.Searches, " ")) > MaxDNSSearchListChars {
				t.Errorf("over the limits: %d domains, %d characters", len(got.Searches), len(strings.Join(got.Searches, " ")))
			}
			if !slices.Equal(got.Nameservers, []string{"198.19.0.10"}) || !slices.Equal(got.Options, []string{"ndots:5"}) {
				t.Errorf("nameservers %q options %q: want the pod's only", got.Nameservers, got.Options)
			}
			if !slices.Equal(pod.Searches, before) {
				t.Errorf("the pod's list changed: %q", pod.Searches)
			}
		})
	}
}
