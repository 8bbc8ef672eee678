#!/usr/bin/env bash
# Builds helm (Helm 3) from its published Go module at a pinned release into a cache outside the repository, as
# e2e/build-k8s.sh does for the control plane. Idempotent: with the binary present it only prints its path.
# Prints the path of the helm binary on its last line.
set -euo pipefail

HELM_VERSION="${POLLARD_HELM_VERSION:-3.21.4}"
CACHE="${POLLARD_K8S_CACHE:-$HOME/.cache/pollard}"
OUT="$CACHE/helm/$HELM_VERSION"
if [[ -x "$OUT/helm" ]]; then echo "$OUT/helm"; exit 0; fi

command -v go >/dev/null || { echo "build-helm: Go is required (https://go.dev) to build helm" >&2; exit 1; }
mkdir -p "$OUT"
echo "build-helm: building helm v${HELM_VERSION} (first time only; a few minutes)" >&2
export CGO_ENABLED=0 GOTOOLCHAIN=local GOBIN="$OUT"
go install -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=v${HELM_VERSION}" \
  "helm.sh/helm/v3/cmd/helm@v${HELM_VERSION}" >&2
"$OUT/helm" version --short >&2
echo "$OUT/helm"
