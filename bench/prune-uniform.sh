#!/usr/bin/env bash
# One-shot uniform pruning of the real-architecture fixtures: FLOPs, size and ONNX Runtime CPU latency before and after.
#   bench/prune-uniform.sh [RATIO]     (default 0.5; batch 32, 3 warm-up runs, median of 20 interleaved runs)
set -euo pipefail
cd "$(dirname "$0")/.."
ratio="${1:-0.5}"
fixtures="$(fixtures/make-fixtures.sh)"
out="$(mktemp -d)"
printf '%-18s %10s %10s %9s %12s %12s %9s %9s %9s %8s\n' model MFLOPs MFLOPs' ' FLOPs MB MB' ' size ms ms' ' speedup
printf '%-18s %10s %10s %9s %12s %12s %9s %9s %9s %8s\n' "" before after change before after change before after ""
for m in resnet18 mobilenet_v2 bert2 torch_transformer masked_encoder all_minilm_l6_v2; do
  report="$(./pollard prune-uniform "$fixtures/$m.onnx" --ratio "$ratio" --out "$out/$m.onnx" --batch 32 --runs 20)"
  flops=($(grep '^MFLOPs' <<<"$report" | awk '{print $4, $5, $6}'))
  bytes=($(grep '^file bytes' <<<"$report" | awk '{print $3/1e6, $4/1e6, $5}'))
  ms=($(grep '^ORT CPU ms' <<<"$report" | awk '{print $6, $7, $8}'))
  printf '%-18s %10s %10s %9s %12.2f %12.2f %9s %9s %9s %8s\n' "$m" "${flops[@]}" "${bytes[@]}" "${ms[@]}"
done
echo "ratio $ratio; ONNX Runtime $(ls ~/.m2/repository/com/microsoft/onnxruntime/onnxruntime/ 2>/dev/null | tail -1) on $(nproc) CPU cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
rm -rf "$out"
