#!/bin/sh
# One lab host. Runs as PID 1 of the host's own pid namespace, inside its own
# mount and UTS namespaces and (via nsenter) its network namespace.
# usage: host.sh NAME HOSTDIR CGROUP
set -eu
name=$1
hostdir=$2
cgroup=$3

# The mount namespace started as a copy of the machine's. Drop the copies of
# the machine's netns mounts: holding them would keep other namespaces (even
# ones unrelated to the lab) alive after their owners delete them.
umount -l /run/netns 2>/dev/null || true

# Our own /run: docker.sock, sshd's privsep dir and pid files live there, at
# their default paths, per host.
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/sshd /run/lock /run/lab

# Per-host copies of what a machine keeps for itself. /etc/docker holds
# dockerd's key.json (its engine ID); /root gets what sessions over SSH leave.
for d in /var/lib/docker /var/lib/containerd /var/lib/reconcile /srv /etc/docker /root; do
	mount --bind "$hostdir/fs$d" "$d"
done

hostname "$name"
echo "$name" >"$hostdir/hostname"
mount --bind "$hostdir/hostname" /etc/hostname
# Our own resolv.conf, pointing inside the lab (LAB.md): a dockerd pull or a
# forwarded DNS query must fail fast here, never reach the machine's resolver.
mount --bind "$hostdir/resolv.conf" /etc/resolv.conf
ip link set lo up

/usr/sbin/sshd -D -e -f "$hostdir/sshd_config" >>"$hostdir/sshd.log" 2>&1 &

# dockerd is supervised: its first start on a fresh machine sometimes fails
# with a containerd timeout (LAB.md), and Lab.StopDocker/StartDocker toggle it
# with /run/lab/docker.stop.
while :; do
	if [ ! -e /run/lab/docker.stop ]; then
		# --bridge=none: no docker0 with NAT on 172.17/16. Pods must land on
		# the network reconcile creates, or a test would pass through NAT.
		# --cgroup-parent: the machine's cgroup tree is shared by all hosts;
		# a name of the lab's own lets Down remove what a killed host left.
		dockerd --bridge=none --cgroup-parent="/$cgroup" >>"$hostdir/dockerd.log" 2>&1 &
		echo $! >/run/lab/dockerd.pid
		wait $! || true
		rm -f /run/lab/dockerd.pid
	fi
	sleep 0.5
done
