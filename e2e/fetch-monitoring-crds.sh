#!/usr/bin/env bash
# The Prometheus Operator's ServiceMonitor and PodMonitor CRDs, at a pinned release, from its Go module (the module
# proxy is reachable where GitHub is not), cached outside the repository: the chart's optional monitors are checked
# against the real schemas. Idempotent. Prints the directory holding the two CRDs on its last line.
set -euo pipefail

VERSION="${POLLARD_PROMETHEUS_OPERATOR_VERSION:-0.85.0}"
CACHE="${POLLARD_K8S_CACHE:-$HOME/.cache/pollard}"
OUT="$CACHE/prometheus-operator-crds/$VERSION"
if [[ -f "$OUT/servicemonitors.yaml" && -f "$OUT/podmonitors.yaml" ]]; then echo "$OUT"; exit 0; fi

command -v go >/dev/null || { echo "fetch-monitoring-crds: Go is required (https://go.dev)" >&2; exit 1; }
mkdir -p "$OUT"
dir=$(cd "$(mktemp -d)" && GOTOOLCHAIN=local GOFLAGS=-mod=mod go mod download -json \
  "github.com/prometheus-operator/prometheus-operator@v${VERSION}" | sed -n 's/^\s*"Dir": "\(.*\)",*$/\1/p')
[[ -n "$dir" ]] || { echo "fetch-monitoring-crds: could not download prometheus-operator v${VERSION}" >&2; exit 1; }
for kind in servicemonitors podmonitors; do
  cp "$dir/example/prometheus-operator-crd/monitoring.coreos.com_${kind}.yaml" "$OUT/$kind.yaml"
done
echo "$OUT"
