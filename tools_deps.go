//go:build tools

package tools
import (
 _ "github.com/go-git/go-git/v5"
 _ "github.com/docker/docker/client"
 _ "github.com/vishvananda/netlink"
 _ "github.com/coreos/go-iptables/iptables"
 _ "github.com/spf13/cobra"
 _ "sigs.k8s.io/yaml"
 _ "golang.org/x/crypto/ssh"
 _ "golang.org/x/crypto/ssh/agent"
 _ "golang.org/x/crypto/ssh/knownhosts"
 _ "github.com/kevinburke/ssh_config"
 _ "golang.org/x/sync/errgroup"
)

