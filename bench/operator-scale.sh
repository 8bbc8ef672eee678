#!/usr/bin/env bash
# The operator at scale: COUNT PruningJobs and COUNT InferenceDeployments, spread over NAMESPACES namespaces and
# created at RATE per second of each kind (0: as fast as the API server takes them), against a whole local control
# plane (e2e/cluster.sh: etcd, kube-apiserver, kube-controller-manager, kube-scheduler), the real operator (the
# packaged jar, `java -jar target/quarkus-app/quarkus-run.jar operator`, in a process of its own with health and
# metrics on a port of its own) and a *stand-in node* (dev.pollard.e2e.StandInNode): a registered Node on which a
# worker pod ends at once with exit 0 and a run summary the operator accepts, and a model server's pod is Running and
# Ready at once. Everything but the work inside the pods is real: scheduler, Job and Deployment controllers, operator.
#
# Prints a table (never an assertion): p50/p90/p99 of PruningJob created -> its Job created, Job Complete ->
# PruningJob Succeeded, InferenceDeployment created -> Deployment created (timestamps taken by the benchmark's own
# watches, nanosecond clock); the operator's RSS (peak and at the end) and CPU time from /proc; the API requests of the
# run by verb and resource (apiserver_request_total), who sends them, and the operator's requests per reconciliation
# (operator_sdk_reconciliations_success_total); then the operator's heap, classes and threads (jcmd). Logs, the table
# and jcmd's output stay in target/operator-scale/, with timeline.csv (every resource's timestamps) and audit.log (the
# API server's record of each create the latencies begin and end with): bench/operator-scale-audit.py splits each
# latency into the operator's part and the API server's by them. The operator runs with its own ServiceAccount's token
# and manifests/'s RBAC, as in a cluster. The cluster and every process it started go on exit.
#   bench/operator-scale.sh [COUNT] [RATE] [NAMESPACES] [DEPLOYMENTS]   (default 1000 10 4 COUNT)
# DEPLOYMENTS: how many of the InferenceDeployments to create (0: PruningJobs alone).
# WARM_UP: PruningJobs and InferenceDeployments created first (default 200 each, 20 s at the default rate), in a
# namespace of their own and done before anything is measured, so that the figures are those of a cluster and an
# operator that have been serving; their latencies, the cold start, are printed on a line of their own (0: none).
# RESTART_OPERATOR=1: after the warm-up, the operator is stopped and a new one started into the warm cluster (as after an
# upgrade), and the 1,000 + 1,000 measure that new operator.
# OPERATOR_JAVA_OPTS: the operator's JVM options; by default what the chart's operator pod gets, its memory limit
# (384 MiB) as -XX:MaxRAM (what the JVM reads from the container) and the chart's javaOptions; MALLOC_ARENA_MAX as the
# chart sets it. POLLARD_APISERVER_FEATURE_GATES: the API server's feature gates (e2e/cluster.sh; default none).
set -euo pipefail
cd "$(dirname "$0")/.."
OPERATOR_JAVA_OPTS="${OPERATOR_JAVA_OPTS--XX:MaxRAM=384m -XX:MaxRAMPercentage=33 -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=32m -XX:+ExitOnOutOfMemoryError}"
count="${1:-1000}"
rate="${2:-10}"
namespaces="${3:-4}"
deployments="${4:-$count}"
warm_up="${WARM_UP:-200}"
out="target/operator-scale"
node="stand-in-node-1"

[[ -f target/quarkus-app/quarkus-run.jar && -f target/test-classes/dev/pollard/e2e/StandInNodeMain.class ]] \
  || mvn -B -q package -DskipTests
rm -rf "$out"
mkdir -p "$out"
mvn -B -q -o dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$out/classpath" >/dev/null 2>&1 \
  || mvn -B -q dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$out/classpath" >/dev/null
classpath="target/test-classes:target/classes:$(cat "$out/classpath")"
kubectl="$(e2e/build-k8s.sh | tail -n1)/kubectl"

work="$(mktemp -d /tmp/pollard-operator-scale-XXXXXX)"
pids=()
stop_pid() {  # SIGTERM, then SIGKILL if it is still there after 20 s
  local pid="$1"
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do stop_pid "${pids[i]}"; done
  cp "$work"/cluster/logs/*.log "$out/" 2>/dev/null || true
  e2e/cluster.sh down "$work/cluster" >/dev/null 2>&1 || true
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
# where each latency goes, from the API server's side: when it received each create of the four kinds the latencies
# begin and end with and when it answered it (audit.log, microseconds; bench/operator-scale-audit.py reads it)
cat >"$work/audit-policy.yaml" <<'POLICY'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived, ResponseStarted]
rules:
- level: Metadata
  verbs: [create]
  resources:
  - {group: pollard.dev, resources: [pruningjobs, inferencedeployments]}
  - {group: batch, resources: [jobs]}
- level: Metadata
  verbs: [create, patch]  # the operator applies its Deployments
  resources:
  - {group: apps, resources: [deployments]}
- level: None
POLICY
# a Service each InferenceDeployment: more than the default /24 holds
KUBECONFIG="$(POLLARD_SERVICE_CLUSTER_IP_RANGE=10.0.0.0/16 POLLARD_APISERVER_AUDIT_POLICY="$work/audit-policy.yaml" \
  e2e/cluster.sh up "$work/cluster" | tail -n1)"
export KUBECONFIG
"$kubectl" apply -f crds/ >/dev/null
"$kubectl" wait --for=condition=Established crd --all --timeout=120s >/dev/null
"$kubectl" apply -f examples/local/hardwareclass-h100.yaml >/dev/null
# the class's run slots (default 4 at once) would make the benchmark measure the queue, not the operator
"$kubectl" patch hardwareclass h100 --type=merge -p '{"spec":{"maxConcurrentRuns":10000}}' >/dev/null

# The operator signs in as it does in a cluster: its own ServiceAccount's token, with manifests/'s RBAC (so every
# request is authorized as in production). The cluster's admin certificate would have it sign each new TLS connection
# with an RSA key, work an in-cluster operator never does: at the start of the run that was half of its network threads'
# time (a JFR profile of run 29 in docs/results.md).
python3 - manifests/01-namespace.yaml manifests/03-operator.yaml <<'PY' | "$kubectl" apply -f - >/dev/null
import sys, yaml
for path in sys.argv[1:]:
    for doc in yaml.safe_load_all(open(path)):
        if doc and doc["kind"] in ("Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"):
            print("---\n" + yaml.safe_dump(doc))
PY
operator_kubeconfig="$work/operator-kubeconfig"
for field in server certificate-authority; do
  declare "cluster_${field//-/_}=$("$kubectl" config view --raw --minify -o "jsonpath={.clusters[0].cluster.$field}")"
done
KUBECONFIG="$operator_kubeconfig" "$kubectl" config set-cluster local --server "$cluster_server" \
  --certificate-authority "$cluster_certificate_authority" >/dev/null
KUBECONFIG="$operator_kubeconfig" "$kubectl" config set-credentials pollard-operator \
  --token "$("$kubectl" create token pollard-operator -n pollard-system --duration 24h)" >/dev/null
KUBECONFIG="$operator_kubeconfig" "$kubectl" config set-context operator --cluster local --user pollard-operator \
  --namespace pollard-system >/dev/null
KUBECONFIG="$operator_kubeconfig" "$kubectl" config use-context operator >/dev/null

java -Djava.util.logging.manager=org.jboss.logmanager.LogManager -cp "$classpath" dev.pollard.e2e.StandInNodeMain "$node" $((2 * (count + warm_up) + 100)) >"$out/node.log" 2>&1 &
pids+=($!)
"$kubectl" wait --for=create "node/$node" --timeout=300s >/dev/null
"$kubectl" wait --for=condition=Ready "node/$node" --timeout=300s >/dev/null

start_operator() {  # sets operator (its pid) and port; returns once it is ready
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  # shellcheck disable=SC2086 # OPERATOR_JAVA_OPTS is a list of JVM options
  KUBECONFIG="$operator_kubeconfig" MALLOC_ARENA_MAX=2 QUARKUS_HTTP_HOST_ENABLED=true QUARKUS_HTTP_HOST=127.0.0.1 QUARKUS_HTTP_PORT="$port" \
    java ${OPERATOR_JAVA_OPTS:-} -jar target/quarkus-app/quarkus-run.jar operator >>"$out/operator.log" 2>&1 &
  operator=$!
  pids+=("$operator")
  for _ in $(seq 1500); do  # ready once its informers have synced: seconds; up to 5 minutes on a loaded machine
    curl -sf "http://127.0.0.1:$port/q/health/ready" >/dev/null 2>&1 && break
    kill -0 "$operator" 2>/dev/null || { tail -30 "$out/operator.log" >&2; exit 1; }
    sleep 0.2
  done
  curl -sf "http://127.0.0.1:$port/q/health/ready" >/dev/null
}
start_operator

processes="operator=$operator,stand-in-node=${pids[0]}"
for p in etcd kube-apiserver kube-controller-manager kube-scheduler; do
  processes="$processes,$p=$(cat "$work/cluster/$p.pid")"
done
started="$(date -u +%Y-%m-%dT%H:%MZ)"
status=0
handover=()
[[ "${RESTART_OPERATOR:-0}" == 1 ]] && handover=(--handover "$work/handover") && mkdir -p "$work/handover"
java -Djava.util.logging.manager=org.jboss.logmanager.LogManager -cp "$classpath" dev.pollard.e2e.OperatorScaleBench --count "$count" --inference-deployments "$deployments" --warm-up "$warm_up" --rate "$rate" --namespaces "$namespaces" \
  --operator-pid "$operator" --operator-metrics "http://127.0.0.1:$port/q/metrics" --out "$out" \
  --clock-ticks "$(getconf CLK_TCK)" --processes "$processes" "${handover[@]}" 2>"$out/bench.log" &
bench=$!
pids+=("$bench")
if ((${#handover[@]})); then
  # the benchmark says when its warm-up is done; a new operator then starts into the warm cluster, as after an upgrade
  while [[ ! -f "$work/handover/warm" ]] && kill -0 "$bench" 2>/dev/null; do sleep 0.2; done
  if [[ -f "$work/handover/warm" ]]; then
    stop_pid "$operator"
    start_operator
    echo "$operator http://127.0.0.1:$port/q/metrics" >"$work/handover/operator.tmp"
    mv "$work/handover/operator.tmp" "$work/handover/operator"
  fi
fi
wait "$bench" || status=$?

# the control plane's own view of the run: request latencies (apiserver_request_duration_seconds), etcd's disk syncs
"$kubectl" get --raw /metrics >"$out/apiserver-metrics.txt" 2>/dev/null || true
curl -s "http://127.0.0.1:$(sed -n 's/^etcd_port=//p' "$work/cluster/ports")/metrics" >"$out/etcd-metrics.txt" || true
# where the operator's memory and threads are, after the run (GC.class_histogram collects first: its total is the live set)
jcmd "$operator" GC.heap_info >"$out/heap-info.txt" 2>&1 || true
jcmd "$operator" VM.metaspace summary >"$out/metaspace.txt" 2>&1 || true
jcmd "$operator" VM.native_memory summary >"$out/native-memory.txt" 2>&1 || true  # with -XX:NativeMemoryTracking=summary
jcmd "$operator" Thread.print >"$out/threads.txt" 2>&1 || true
jcmd "$operator" GC.class_histogram >"$out/class-histogram.txt" 2>&1 || true
live="$(awk '/^Total/ {printf "%.0f MB in %d objects", $3/1048576, $2}' "$out/class-histogram.txt")"
heap="$(grep -m1 -E 'garbage-first heap|def new generation|PSYoungGen|total' "$out/heap-info.txt" | xargs)"
threads="$(grep -c '^"' "$out/threads.txt" || true)"
{
  echo
  echo "Operator JVM after the run (jcmd): heap: $heap; live objects after a full GC: $live; $threads threads."
  echo "Largest classes in the live heap:"
  echo
  echo '| # | instances | MB | class |'
  echo '| ---: | ---: | ---: | --- |'
  awk 'NR > 3 && $1 ~ /^[0-9]+:$/ && n < 12 {n++; printf "| %s | %d | %.1f | %s |\n", $1, $2, $3/1048576, $4}' \
    "$out/class-histogram.txt"
  echo
  echo "Threads by name (the 8 largest groups):"
  echo
  grep '^"' "$out/threads.txt" | sed -E 's/^"([^"]*)".*/\1/; s/[-#]?[0-9]+$//; s/-[0-9]+-thread$/-thread/' \
    | sort | uniq -c | sort -rn | head -8 | awk '{c=$1; $1=""; printf "- %d %s\n", c, substr($0, 2)}'
  echo
  echo "On $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/^Mem:/ {print $2}') GiB," \
    "$(java -version 2>&1 | head -1), Kubernetes $(basename "$(dirname "$kubectl")" | cut -d- -f1), started $started;" \
    "load average ${load_before} before, $(cut -d' ' -f1-3 /proc/loadavg) after." \
    "Command: bench/operator-scale.sh $count $rate $namespaces $deployments${OPERATOR_JAVA_OPTS:+ (OPERATOR_JAVA_OPTS=$OPERATOR_JAVA_OPTS)}"
} | tee -a "$out/table.md"
grep -c -E ' (WARN|ERROR) ' "$out/operator.log" | xargs printf 'Operator log: %s WARN/ERROR lines (target/operator-scale/operator.log).\n' \
  | tee -a "$out/table.md" || true
tail -1 "$out/bench.log" >&2 || true
exit "$status"
