#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine; idempotent and cached, so later runs take seconds.
#   - Debian packages: the Fashion-MNIST dataset, gcc (fake NVML library), Go (control plane build), Lua 5.1 (Argo CD
#     health checks)
#   - a real Kubernetes control plane + etcd built from their Go modules (e2e/build-k8s.sh, cached under ~/.cache/pollard)
#   - helm from its Go module (e2e/build-helm.sh) and the Prometheus Operator's monitor CRDs (e2e/fetch-monitoring-crds.sh)
#   - ONNX exports of real architectures made with PyTorch from PyPI (fixtures/make-fixtures.sh, cached likewise)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(dataset-fashion-mnist gcc libc6-dev lua5.1)
command -v go >/dev/null || packages+=(golang-go)
command -v python3 >/dev/null || packages+=(python3)
python3 -c 'import venv, ensurepip' 2>/dev/null || packages+=(python3-venv)
command -v mvn >/dev/null || packages+=(maven)
command -v java >/dev/null || packages+=(openjdk-17-jdk-headless)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

e2e/build-k8s.sh >/dev/null
e2e/build-helm.sh >/dev/null
e2e/fetch-monitoring-crds.sh >/dev/null
fixtures/make-fixtures.sh >/dev/null
echo "setup: ready (control plane: $(e2e/build-k8s.sh); helm: $(e2e/build-helm.sh);" \
  "monitoring CRDs: $(e2e/fetch-monitoring-crds.sh); fixtures: $(fixtures/make-fixtures.sh))" >&2
