#!/usr/bin/env bash
# The seed story ("Connecting applications with services") on the built-in
# lab: three Docker hosts in network namespaces, a git server on node-1.
# Run through `make demo` (as root), which builds bin/reconcile first.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH

LAB=/var/lib/reconcile-lab/rcl
R="bin/reconcile"
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { say "$*"; "$@"; }

say "go run ./integration/labctl up    # 3 Docker hosts, each with its own sshd, dockerd, iptables and routes"
go run ./integration/labctl up

KEY=$LAB/id_ed25519
KNOWN=$LAB/known_hosts
SSH=(--ssh-key "$KEY" --known-hosts "$KNOWN")
GIT_URL=ssh://root@198.51.100.11/srv/git/app.git
SRC=(--repo "$GIT_URL" --path nginx)

# Push examples/nginx (the seed's two manifests and the lab's Cluster) to the
# lab's git server, the way a team would merge them.
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
cp -r examples/nginx "$WORK/nginx"
git -C "$WORK" init -q -b main
git -C "$WORK" add nginx
git -C "$WORK" -c user.name=demo -c user.email=demo@reconcile.invalid commit -qm "Run my-nginx and expose it"
say "git push $GIT_URL main"
GIT_SSH_COMMAND="ssh -i $KEY -o UserKnownHostsFile=$KNOWN -o StrictHostKeyChecking=yes" git -C "$WORK" push -qf "$GIT_URL" main

run $R validate "${SRC[@]}" "${SSH[@]}"
say "$R diff ${SRC[*]}    # exit 1: changes pending"
$R diff "${SRC[@]}" "${SSH[@]}" || [ $? -eq 1 ]
run $R apply "${SRC[@]}" "${SSH[@]}"

run $R get pods -l run=my-nginx -o wide "${SRC[@]}" "${SSH[@]}"
say "$R get pods -l run=my-nginx -o json | grep podIP"
$R get pods -l run=my-nginx -o json "${SRC[@]}" "${SSH[@]}" | grep '"podIP"'

IPS=$($R get pods -l run=my-nginx -o json "${SRC[@]}" "${SSH[@]}" | sed -n 's/.*"podIP": "\(.*\)".*/\1/p')
for ip in $IPS; do
  say "ssh node-3 curl http://$ip/    # from another host: no NAT, no host ports"
  go run ./integration/labctl exec node-3 -- "$LAB/podserver" get "http://$ip/"
done

run $R get svc my-nginx "${SRC[@]}" "${SSH[@]}"
run $R describe svc my-nginx "${SRC[@]}" "${SSH[@]}"
run $R get ep my-nginx "${SRC[@]}" "${SSH[@]}"

# "Accessing the Service", DNS: every host runs the cluster DNS (kube-dns),
# and pods resolve Service names through it.
run $R get svc -n kube-system "${SRC[@]}" "${SSH[@]}"
read -r POD NODE < <($R get pods -l run=my-nginx -o wide "${SRC[@]}" "${SSH[@]}" | awk 'NR==2 {print $1, $7}')
say "kubectl exec $POD -- nslookup my-nginx    # on $NODE, through the cluster DNS"
go run ./integration/labctl exec "$NODE" -- docker exec "$POD" /podserver nslookup my-nginx
say "kubectl exec $POD -- cat /etc/resolv.conf"
go run ./integration/labctl exec "$NODE" -- sh -c "docker inspect -f '{{range .Mounts}}{{if eq .Destination \"/etc/resolv.conf\"}}{{.Source}}{{end}}{{end}}' $POD | xargs cat"
say "kubectl exec $POD -- curl http://my-nginx/    # by name, through the VIP"
go run ./integration/labctl exec "$NODE" -- docker exec "$POD" /podserver get -timeout 3s http://my-nginx/

VIP=$($R get svc my-nginx -o json "${SRC[@]}" "${SSH[@]}" | sed -n 's/.*"clusterIP": "\(.*\)".*/\1/p')
for node in node-1 node-2 node-3; do
  say "ssh $node curl http://$VIP:80/  (x6)    # the ClusterIP from every host, load-balanced"
  go run ./integration/labctl exec "$node" -- "$LAB/podserver" get -n 6 "http://$VIP/"
done

say "$R diff ${SRC[*]}    # exit 0: in sync"
$R diff "${SRC[@]}" "${SSH[@]}"
printf '\nThe lab keeps running: try the commands above, then `make lab-down`.\n'
