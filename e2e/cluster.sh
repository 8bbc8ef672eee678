#!/usr/bin/env bash
# A whole local Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler) from the
# binaries e2e/build-k8s.sh builds. No nodes: tests register their own (see the process node in the e2e tests).
#
#   e2e/cluster.sh up   [DIR]   start; prints the kubeconfig path on its last line
#   e2e/cluster.sh down [DIR]   stop and remove DIR
#   e2e/cluster.sh kill-apiserver    [DIR]   SIGKILL kube-apiserver alone (no shutdown); returns once it is gone
#   e2e/cluster.sh start-apiserver   [DIR]   start it again on the same port and etcd; returns once it is ready
#   e2e/cluster.sh restart-apiserver [DIR]   both (what a crash and a supervisor's restart do)
# DIR defaults to /tmp/pollard-cluster. Ports are chosen free at start (`up`) and kept in DIR/ports, with the Services'
# address range: POLLARD_SERVICE_CLUSTER_IP_RANGE (default 10.0.0.0/24: about 250 Services; bench/operator-scale.sh
# needs more), and the API server's feature gates: POLLARD_APISERVER_FEATURE_GATES (default none).
# POLLARD_APISERVER_AUDIT_POLICY: an audit policy file; the API server then logs what it selects to DIR/logs/audit.log.
set -euo pipefail
cmd="${1:-}"; dir="${2:-${POLLARD_CLUSTER_DIR:-/tmp/pollard-cluster}}"
here="$(cd "$(dirname "$0")" && pwd)"

# a process that has exited but not been reaped (a zombie) is gone for our purposes
alive() { local state; state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) && [[ -n "$state" && "$state" != Z* ]]; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

stop() {
  for p in kube-scheduler kube-controller-manager kube-apiserver etcd; do
    [[ -f "$dir/$p.pid" ]] && kill "$(cat "$dir/$p.pid")" 2>/dev/null || true
  done
  for p in kube-scheduler kube-controller-manager kube-apiserver etcd; do
    if [[ -f "$dir/$p.pid" ]]; then
      pid=$(cat "$dir/$p.pid"); for _ in $(seq 100); do alive "$pid" || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
}

kill_apiserver() {
  local pid; pid=$(cat "$dir/kube-apiserver.pid")
  kill -9 "$pid" 2>/dev/null || true
  # SIGKILL cannot be ignored, but the process's threads exit one by one and its listening socket is closed only
  # with the last of them: gone once its port refuses connections
  while alive "$pid" || (exec 3<>"/dev/tcp/127.0.0.1/$api_port") 2>/dev/null; do sleep 0.1; done
}

start_apiserver() {
  "$bin/kube-apiserver" --etcd-servers "http://127.0.0.1:$etcd_port" --bind-address 127.0.0.1 \
    --advertise-address 127.0.0.1 --secure-port "$api_port" --cert-dir "$pki" \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" --client-ca-file "$pki/ca.crt" \
    --service-account-issuer https://kubernetes.default.svc --service-account-key-file "$pki/sa.pub" \
    --service-account-signing-key-file "$pki/sa.key" --service-cluster-ip-range "$service_range" \
    --authorization-mode Node,RBAC --enable-priority-and-fairness=false --feature-gates "${feature_gates:-}" \
    ${audit_policy:+--audit-policy-file "$audit_policy" --audit-log-path "$dir/logs/audit.log" --audit-log-maxsize 0} \
    >> "$dir/logs/kube-apiserver.log" 2>&1 &
  echo $! > "$dir/kube-apiserver.pid"
}

await_apiserver() {
  for _ in $(seq 1500); do  # up to 5 minutes on a loaded machine; it is ready in seconds
    "$bin/kubectl" --kubeconfig "$kubeconfig" get --raw /readyz >/dev/null 2>&1 && break
    alive "$(cat "$dir/kube-apiserver.pid")" || { tail -20 "$dir/logs/kube-apiserver.log" >&2; exit 1; }
    sleep 0.2
  done
  "$bin/kubectl" --kubeconfig "$kubeconfig" get --raw /readyz >/dev/null
}

case "$cmd" in
  down) stop; rm -rf "$dir"; exit 0 ;;
  up) ;;
  kill-apiserver|start-apiserver|restart-apiserver)
    [[ -f "$dir/ports" ]] || { echo "$0 $cmd: no cluster in $dir (run up first)" >&2; exit 1; }
    bin="$("$here/build-k8s.sh" | tail -n1)"; pki="$dir/pki"; kubeconfig="$dir/kubeconfig"
    source "$dir/ports"
    [[ "$cmd" == start-apiserver ]] || kill_apiserver
    if [[ "$cmd" != kill-apiserver ]]; then
      echo "---- $cmd $(date -u +%FT%TZ)" >> "$dir/logs/kube-apiserver.log"
      start_apiserver; await_apiserver
    fi
    exit 0 ;;
  *) echo "usage: $0 up|down|kill-apiserver|start-apiserver|restart-apiserver [DIR]" >&2; exit 2 ;;
esac

bin="$("$here/build-k8s.sh" | tail -n1)"
mkdir -p "$dir/pki" "$dir/logs"
pki="$dir/pki"
if [[ ! -f "$pki/admin.crt" ]]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=pollard-e2e-ca" -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" -keyout "$pki/apiserver.key" -out "$pki/apiserver.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\n' > "$pki/san.ext"
  openssl x509 -req -in "$pki/apiserver.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 2 -extfile "$pki/san.ext" -out "$pki/apiserver.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/O=system:masters/CN=pollard-admin" -keyout "$pki/admin.key" -out "$pki/admin.csr" 2>/dev/null
  openssl x509 -req -in "$pki/admin.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 2 -out "$pki/admin.crt" 2>/dev/null
  openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
fi

etcd_port=$(free_port); peer_port=$(free_port); api_port=$(free_port)
service_range="${POLLARD_SERVICE_CLUSTER_IP_RANGE:-10.0.0.0/24}"
feature_gates="${POLLARD_APISERVER_FEATURE_GATES:-}"
audit_policy="${POLLARD_APISERVER_AUDIT_POLICY:-}"
printf 'etcd_port=%s\npeer_port=%s\napi_port=%s\nservice_range=%s\nfeature_gates=%s\naudit_policy=%q\n' "$etcd_port" \
  "$peer_port" "$api_port" "$service_range" "$feature_gates" "$audit_policy" \
  > "$dir/ports"
"$bin/etcd" --data-dir "$dir/etcd" --listen-client-urls "http://127.0.0.1:$etcd_port" \
  --advertise-client-urls "http://127.0.0.1:$etcd_port" --listen-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" --initial-cluster "default=http://127.0.0.1:$peer_port" \
  > "$dir/logs/etcd.log" 2>&1 &
echo $! > "$dir/etcd.pid"

start_apiserver

kubeconfig="$dir/kubeconfig"
cat > "$kubeconfig" <<KCFG
apiVersion: v1
kind: Config
clusters:
- name: pollard-e2e
  cluster:
    server: https://127.0.0.1:$api_port
    certificate-authority: $pki/ca.crt
users:
- name: admin
  user:
    client-certificate: $pki/admin.crt
    client-key: $pki/admin.key
contexts:
- name: pollard-e2e
  context: {cluster: pollard-e2e, user: admin, namespace: default}
current-context: pollard-e2e
KCFG

await_apiserver

"$bin/kube-controller-manager" --kubeconfig "$kubeconfig" --authentication-kubeconfig "$kubeconfig" \
  --authorization-kubeconfig "$kubeconfig" --service-account-private-key-file "$pki/sa.key" \
  --root-ca-file "$pki/ca.crt" --leader-elect=false --bind-address 127.0.0.1 --secure-port "$(free_port)" \
  --controllers '*,-nodelifecycle,-cloud-node-lifecycle,-route,-service' \
  > "$dir/logs/kube-controller-manager.log" 2>&1 &
echo $! > "$dir/kube-controller-manager.pid"

"$bin/kube-scheduler" --kubeconfig "$kubeconfig" --authentication-kubeconfig "$kubeconfig" \
  --authorization-kubeconfig "$kubeconfig" --leader-elect=false --bind-address 127.0.0.1 --secure-port "$(free_port)" \
  > "$dir/logs/kube-scheduler.log" 2>&1 &
echo $! > "$dir/kube-scheduler.pid"

echo "$kubeconfig"
