#!/usr/bin/env bash
# Builds a real Kubernetes control plane (kube-apiserver, kube-controller-manager, kube-scheduler) and etcd
# from their published Go modules, at pinned releases, into a cache outside the repository.
# Idempotent: a second run with the binaries present only prints their directory.
#
# Layout (what fabric8 kube-api-test expects): $POLLARD_K8S_CACHE/k8s/<X.Y.Z>-linux-amd64/{kube-apiserver,etcd,kubectl,...}
# Prints that directory on its last line.
set -euo pipefail

K8S_VERSION="${POLLARD_K8S_VERSION:-1.33.13}"
ETCD_VERSION="${POLLARD_ETCD_VERSION:-3.5.21}"
CACHE="${POLLARD_K8S_CACHE:-$HOME/.cache/pollard}"
OUT="$CACHE/k8s/${K8S_VERSION}-linux-amd64"
BINARIES=(kube-apiserver kube-controller-manager kube-scheduler etcd kubectl)

have_all() { for b in "${BINARIES[@]}"; do [[ -x "$OUT/$b" ]] || return 1; done; }
if have_all; then echo "$OUT"; exit 0; fi

command -v go >/dev/null || { echo "build-k8s: Go is required (https://go.dev) to build the control plane" >&2; exit 1; }
mkdir -p "$OUT"
WORK="$CACHE/build/k8s-${K8S_VERSION}"
mkdir -p "$WORK/k8s" "$WORK/etcd"
export GOFLAGS="-mod=mod" CGO_ENABLED=0 GOTOOLCHAIN=local

# --- Kubernetes: k8s.io/kubernetes lists its staging modules (k8s.io/api, k8s.io/apiserver, ...) at v0.0.0 and
# replaces them with ./staging paths that do not exist in the published module. A wrapper module replaces each
# of them with the matching published v0.X.Y instead.
cd "$WORK/k8s"
if [[ ! -f go.mod ]]; then
  go mod init pollard.dev/k8sbuild >/dev/null 2>&1
  modfile=$(go mod download -json "k8s.io/kubernetes@v${K8S_VERSION}" | sed -n 's/^\s*"GoMod": "\(.*\)",*$/\1/p')
  staging_version="v0.${K8S_VERSION#1.}"
  {
    echo "require k8s.io/kubernetes v${K8S_VERSION}"
    echo "replace ("
    sed -n 's#^\s*\(k8s\.io/[a-z0-9-]*\) => \./staging/.*#\t\1 => \1 '"$staging_version"'#p' "$modfile"
    echo ")"
  } >> go.mod
fi
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=v${K8S_VERSION} -X $pkg.gitMajor=${K8S_VERSION%%.*}"
  minor=${K8S_VERSION#*.}; ldflags+=" -X $pkg.gitMinor=${minor%%.*} -X $pkg.gitTreeState=clean"
done
targets=(kube-apiserver kube-controller-manager kube-scheduler)
command -v kubectl >/dev/null || targets+=(kubectl)
for t in "${targets[@]}"; do
  [[ -x "$OUT/$t" ]] && continue
  echo "build-k8s: building $t v${K8S_VERSION} (first time only; several minutes)" >&2
  go get "k8s.io/kubernetes/cmd/$t@v${K8S_VERSION}" >/dev/null 2>&1 || go get "k8s.io/kubernetes/cmd/$t@v${K8S_VERSION}"
  go build -trimpath -ldflags "$ldflags" -o "$OUT/$t.tmp" "k8s.io/kubernetes/cmd/$t"
  mv "$OUT/$t.tmp" "$OUT/$t"
done
if [[ ! -x "$OUT/kubectl" ]]; then ln -sf "$(command -v kubectl)" "$OUT/kubectl"; fi

# --- etcd: the server module's main package, built through a wrapper module so its local replaces are ignored.
if [[ ! -x "$OUT/etcd" ]]; then
  echo "build-k8s: building etcd v${ETCD_VERSION}" >&2
  cd "$WORK/etcd"
  [[ -f go.mod ]] || go mod init pollard.dev/etcdbuild >/dev/null 2>&1
  go get "go.etcd.io/etcd/server/v3@v${ETCD_VERSION}" >/dev/null 2>&1 || go get "go.etcd.io/etcd/server/v3@v${ETCD_VERSION}"
  go build -trimpath -ldflags "-s -w" -o "$OUT/etcd.tmp" go.etcd.io/etcd/server/v3
  mv "$OUT/etcd.tmp" "$OUT/etcd"
fi
have_all || { echo "build-k8s: some binaries are missing in $OUT" >&2; exit 1; }
echo "$OUT"
