#!/bin/sh
# Installs what the integration lab needs on Debian/Ubuntu. Idempotent and
# fast when everything is there: apt is only touched for missing packages.
set -eu
# dnsmasq-base: the binary only (no service): the DNS benchmark's reference
# server and the tests' upstream resolver, both started on lab hosts.
# tmux: the real terminal of the `reconcile exec -it` test.
# qemu-user-static: qemu-aarch64-static for TestMixedArchFleet's arm64 host;
# the test registers it in binfmt_misc itself and removes it after, so
# binfmt-support (which would register every qemu for good) is not needed.
pkgs="docker.io iptables openssh-server iproute2 git dnsmasq-base tmux qemu-user-static"
missing=""
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing="$missing $p"
	fi
done
if [ -z "$missing" ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing:$missing; run as root (the lab needs root anyway)" >&2
	exit 1
fi
echo "install-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# Keep apt from starting dockerd/sshd in the root namespace (policy-rc.d exit
# 101 = "not allowed"); the lab runs its own per host.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod +x /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq
# --no-install-recommends: no extra daemons; the lab starts its own dockerd
# and sshd inside each host, never in the root namespace.
apt-get install -y -qq --no-install-recommends $missing >/dev/null
