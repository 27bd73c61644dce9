# Sourced by l7-vs-haproxy.sh (not run): the node's namespace D and three pods (client C, server V, haproxy H), each
# pod's eth0 a veth to D whose D side carries the pod's `lxc…` name (as the CNI plugin names it, see
# tests/Dataplane.Testing/Netns/PodTopology.cs), so `dataplane-node run` attaches to it as that pod's port; the node's
# config and policy in $TMP/cfg; nginx's and HAProxy's configurations. Expects D C V H and TMP.
lxc() { printf '%s' "default/$1" | sha256sum | cut -c1-12 | sed 's/^/lxc/'; }
ip netns add $D
ip netns exec $D sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip -n $D link set lo up
mkdir -p $TMP/cfg $TMP/state $TMP/nginx/logs
cat > $TMP/cfg/cluster.yaml <<'YAML'
apiVersion: v1
kind: Node
metadata: {name: dp}
spec: {podCIDRs: ["198.18.100.0/24"]}
status: {addresses: [{type: InternalIP, address: 198.18.0.1}]}
---
apiVersion: dataplane.io/v1alpha1
kind: DataplaneNode
metadata: {name: dp}
spec: {routerMac: "02:00:00:00:00:99"}
YAML
pod() {  # pod NAME NS IP MAC
  local name=$1 ns=$2 addr=$3 mac=$4 l x; l=$(lxc $name)
  ip netns add $ns
  ip link add $l netns $D type veth peer name eth0 netns $ns
  ip -n $ns link set eth0 address $mac
  ip -n $ns addr add $addr/24 dev eth0
  ip -n $ns link set lo up
  for x in "$ns eth0" "$D $l"; do
    set -- $x; ip -n $1 link set $2 up
    ip netns exec $1 ethtool -K $2 tx off tso off gso off gro off >/dev/null 2>&1 || true
  done
  cat >> $TMP/cfg/cluster.yaml <<YAML
---
apiVersion: v1
kind: Pod
metadata:
  name: $name
  namespace: default
  labels: {app: $name}
  annotations: {dataplane.io/mac: "$mac"}
spec: {nodeName: dp}
status: {podIPs: [{ip: $addr}]}
YAML
}
pod client $C 198.18.100.10 02:00:00:00:c1:01
pod server $V 198.18.100.20 02:00:00:00:c1:02
pod haproxy $H 198.18.100.30 02:00:00:00:c1:03
# A new connection per request: let the client reuse its ports in TIME_WAIT (a few thousand connections a second).
ip netns exec $C sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="1024 65535"

cat > $TMP/cfg/policy.yaml <<'YAML'
# The server: its client's requests on 8080 through two HTTP rules (the node's proxy), 8081 at L3/L4 only (the
# direct case); HAProxy's onward connections on 8080 at L3/L4. HAProxy's pod: the client on 8080 at L3/L4.
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: server-http, namespace: default}
spec:
  endpointSelector: {matchLabels: {app: server}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: client}}]
    toPorts:
    - ports: [{port: "8080", protocol: TCP}]
      rules:
        http:
        - {method: GET, path: "/public.*"}
        - {method: POST, path: "/api/.*"}
  - fromEndpoints: [{matchLabels: {app: client}}]
    toPorts: [{ports: [{port: "8081", protocol: TCP}]}]
  - fromEndpoints: [{matchLabels: {app: haproxy}}]
    toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: haproxy-l4, namespace: default}
spec:
  endpointSelector: {matchLabels: {app: haproxy}}
  ingress:
  - fromEndpoints: [{matchLabels: {app: client}}]
    toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
YAML

# nginx: one worker, a fixed 22-byte answer, no logs, long keep-alive (the proxies' upstream connections stay up).
cat > $TMP/nginx/nginx.conf <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  client_body_temp_path $TMP/nginx/body;
  proxy_temp_path $TMP/nginx/proxy;
  fastcgi_temp_path $TMP/nginx/fastcgi;
  uwsgi_temp_path $TMP/nginx/uwsgi;
  scgi_temp_path $TMP/nginx/scgi;
  default_type text/plain;
  server {
    listen 198.18.100.20:8080 backlog=4096;
    listen 198.18.100.20:8081 backlog=4096;
    location / { return 200 "hello from the server"; }
  }
}
CONF

# HAProxy: the same two rules as the policy's (method and whole path, as Envoy's full-match regexes), every other
# request denied with 403 "Access denied" as Cilium's proxy answers; keep-alive to the server (HAProxy's default
# http-reuse safe). One thread: it runs on one core.
cat > $TMP/haproxy.cfg <<CONF
global
  nbthread 1
  maxconn 8192
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option http-keep-alive
frontend fe
  bind 198.18.100.30:8080 backlog 4096
  http-request allow if { method GET } { path_reg ^/public.*\$ }
  http-request allow if { method POST } { path_reg ^/api/.*\$ }
  http-request deny deny_status 403 content-type text/plain string "Access denied\r\n"
  default_backend be
backend be
  server s1 198.18.100.20:8080
CONF
