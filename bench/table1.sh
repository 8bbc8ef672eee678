#!/usr/bin/env bash
# Seed 002's Table 1 on Fashion-MNIST, measured: the project's VGG-style CNN pruned by each criterion of
# `pollard prune` and by Torch-Pruning (the peer), every resulting model then evaluated by the same code, one after
# the other on a quiet machine (accuracy on the whole test split in ONNX Runtime, analytical energy on the hardware
# class, ONNX Runtime CPU latency at batch 128, ONNX file size, carbon at the report's grid intensity).
#
#   bench/table1.sh [target] [frontier]     (default: target)
#     target:   every criterion at T = 0.4, epsilon = 0.01 (the acceptance of issue 5); a criterion that cannot get
#               there within epsilon stops where it can, which is then as far as it goes
#     frontier: as far as epsilon allows (T = 0.99, out of reach); both sides get 19 rounds of fine-tuning: up to
#               19 rounds for `pollard prune` (--max-iterations; rolled-back steps included), 19 steps of 0.05 for the
#               peer (up to a uniform ratio of 0.95, keeping the last model within epsilon); pick rows with ROWS
#   Environment: MODEL (another trained ONNX model to run the table on, e.g. bench/pytorch_resnet20.py's export;
#     default: the cached VGG-style CNN), PEER_ARCH (what MODEL holds for the peer's loader: cnn or resnet20), TARGET
#     (the target part's T, 0.4), LATENCY_BATCH (128), HARDWARE (h100), SERVING_BATCH (the batch energy is measured
#     at, per sample; 1, as Table 1 in docs/results.md was measured, while `pollard prune` defaults to 32), EPSILON
#     (0.01), FINETUNE_STEPS (200), LEARNING_RATE (fine-tuning's, both sides: 0.001), POLLARD_CACHE (~/.cache/pollard),
#     ROWS (criteria to run, default: magnitude beta=0 alpha=0 energy-aware knapsack torch-pruning),
#     BENCH_OUT (where runs, reports and logs stay; default: a new temporary directory). A row whose run already
#     finished in BENCH_OUT is not run again, only evaluated: delete its directory to run it anew.
#
# The CNN is trained once by `pollard train --arch vgg` and cached; Torch-Pruning 1.6.1 comes from PyPI into the same
# cached virtual environment as the fixtures (fixtures/make-fixtures.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${POLLARD_CACHE:-$HOME/.cache/pollard}"
hardware="${HARDWARE:-h100}"
batch="${SERVING_BATCH:-1}"
epsilon="${EPSILON:-0.01}"
steps="${FINETUNE_STEPS:-200}"
target="${TARGET:-0.4}"
latency_batch="${LATENCY_BATCH:-128}"
peer_arch="${PEER_ARCH:-cnn}"
learning_rate="${LEARNING_RATE:-0.001}"
parts=("${@:-target}")
selected="${ROWS:-magnitude beta=0 alpha=0 energy-aware knapsack torch-pruning}"
model="${MODEL:-$cache/bench/vgg.onnx}"
work="${BENCH_OUT:-$(mktemp -d)}"

mkdir -p "$cache/bench"
if [[ ! -f "$model" ]]; then
  echo "training the VGG-style CNN (once; cached at $model)..." >&2
  ./pollard train --arch vgg --epochs 3 --out "$model" >&2
fi
fixtures/make-fixtures.sh >/dev/null # the cached venv with torch
"$cache/venv/bin/pip" install -q --disable-pip-version-check torch-pruning==1.6.1 >&2

# name|arguments of `pollard prune`
rows=("magnitude|--criterion magnitude"
      "beta=0|--criterion energy-aware --alpha 0.6 --beta 0"
      "alpha=0|--criterion energy-aware --alpha 0 --beta 0.4"
      "energy-aware|--criterion energy-aware --alpha 0.6 --beta 0.4"
      "knapsack|--criterion knapsack")

evaluate() { # model -> report.json of the model as it is (no pruning step), measured by Pollard
  ./pollard prune --model "$1" --hardware "$hardware" --serving-batch "$batch" --max-iterations 0 --out "$2" >/dev/null 2>&1
  echo "$2/report.json"
}

for part in "${parts[@]}"; do
  case "$part" in
    target) reduction="$target"; iterations=20 ;;
    frontier) reduction=0.99; iterations=19 ;; # as many rounds as the peer's 19 steps of 0.05 up to its --max-ratio 0.95
    *) echo "bench/table1.sh: unknown part '$part' (target, frontier)" >&2; exit 2 ;;
  esac
  dir="$work/$part"
  mkdir -p "$dir"
  for row in "${rows[@]}"; do
    name="${row%%|*}"
    [[ " $selected " == *" $name "* ]] || continue
    [[ -f "$dir/$name/report.json" ]] && { echo "[$part] $name: done before, in $dir/$name" >&2; continue; }
    echo "[$part] pollard prune, $name..." >&2
    # shellcheck disable=SC2086 # the row's arguments are ours, split on purpose
    ./pollard prune --model "$model" --hardware "$hardware" --serving-batch "$batch" --target-reduction "$reduction" --epsilon "$epsilon" \
      --finetune-steps "$steps" --learning-rate "$learning_rate" --max-iterations "$iterations" --out "$dir/$name" \
      ${row#*|} 2> "$dir/$name.log" >/dev/null
  done
  if [[ " $selected " == *" torch-pruning "* && -s "$dir/torch-pruning/peer.json" ]]; then
    echo "[$part] torch-pruning: done before, in $dir/torch-pruning" >&2
  elif [[ " $selected " == *" torch-pruning "* ]]; then
    echo "[$part] Torch-Pruning..." >&2
    mkdir -p "$dir/torch-pruning"
    "$cache/venv/bin/python" bench/torch_pruning_peer.py --model "$model" --arch "$peer_arch" --pollard ./pollard --hardware "$hardware" --serving-batch "$batch" \
      --target-reduction "$reduction" --epsilon "$epsilon" --finetune-steps "$steps" --learning-rate "$learning_rate" --mode "$part" \
      --out "$dir/torch-pruning/model.onnx" > "$dir/torch-pruning/peer.json" 2> "$dir/torch-pruning.log"
  fi

  # every model measured again by the same code, one at a time
  echo "[$part] evaluating every model..." >&2
  reports=("dense@$(evaluate "$model" "$dir/eval-dense")")
  models=("$model")
  for name in $selected; do
    reports+=("$name@$(evaluate "$dir/$name/model.onnx" "$dir/eval-$name")|$dir/$name")
    models+=("$dir/$name/model.onnx")
  done
  # latency of all models in one process, their runs interleaved, so that the speedups share the machine's moment
  ./pollard latency --batch "$latency_batch" --runs 30 "${models[@]}" 2>/dev/null > "$dir/latency.txt"
  echo
  echo "## $part: T = $reduction, epsilon = $epsilon, $steps fine-tuning steps per iteration at learning rate" \
    "$learning_rate, hardware class $hardware, energy at batch $batch"
  python3 bench/table1_rows.py --latency "$dir/latency.txt" "${reports[@]}"
done
echo
echo "runs, reports and logs: $work"
echo "machine: $(nproc) CPU cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)); energy: analytical meter" \
  "($hardware datasheet model, batch $batch); latency: ONNX Runtime CPU, batch $latency_batch, median of 30 runs after 3 warm-up runs," \
  "every model's runs interleaved (pollard latency)"
