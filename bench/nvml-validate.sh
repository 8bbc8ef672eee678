#!/usr/bin/env bash
# The NVML energy counter on a real NVIDIA board, against nvidia-smi's power readings and against the analytical
# meter, for docs/energy.md's "GPU validation":
#   1. bench/nvml_gpu.py measure: each model on the GPU (PyTorch eager, the same kernels replayed as a CUDA graph, and
#      ONNX Runtime's CUDA provider where installed) at batch 1 and 32, joules from NVML's counter per window, while
#      nvidia-smi samples the board's power every 20 ms in the background;
#   2. bench/nvml_gpu.py calibrate: one CUDA-graph load per model at batch 32, and the idle board, in windows of 1 and 4 s
#      read three ways (the counter at the window's end, dated by its last step, step to step) against nvidia-smi;
#   3. `pollard profile --hardware h200` (analytical) for each model and batch;
#   4. `pollard profile --meter nvml` on the first model at batch 1 and 32: Pollard's own JNA binding on the real
#      library (ONNX Runtime on the CPU, so the board idles and its reading is the idle draw);
#   5. bench/nvml_gpu.py report: OUT/table.md.
#
#   bench/nvml-validate.sh OUT MODEL.onnx...
#   Environment: POLLARD (the command that runs Pollard; default ./pollard), HARDWARE (analytical preset, h200),
#   WINDOWS (3), MIN_SECONDS (1), DEVICE (cuda; cpu runs the models on the CPU, a dry run of this script). Needs
#   nvidia-smi, and python3 with torch and onnx.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$1"
shift
read -r -a pollard <<< "${POLLARD:-$here/../pollard}"
hardware="${HARDWARE:-h200}"
windows="${WINDOWS:-3}"
seconds="${MIN_SECONDS:-1}"
mkdir -p "$out"

nvidia-smi -q -d POWER,CLOCK > "$out/nvidia-smi-q.txt" || true
nvidia-smi --query-gpu=name,driver_version,power.limit,power.min_limit,clocks.max.sm,clocks.max.mem \
  --format=csv > "$out/gpu.csv"
fields=timestamp,power.draw,power.draw.instant
nvidia-smi --query-gpu="$fields" --format=csv,noheader,nounits > /dev/null 2>&1 || fields=timestamp,power.draw
nvidia-smi --query-gpu="$fields" --format=csv,noheader,nounits -lms 20 > "$out/smi.csv" 2> "$out/smi.err" &
sampler=$!
trap 'kill "$sampler" 2> /dev/null || true' EXIT

python3 "$here/nvml_gpu.py" measure --out "$out" --device "${DEVICE:-cuda}" --windows "$windows" --min-seconds "$seconds" "$@"
[[ "${DEVICE:-cuda}" == cuda ]] && python3 "$here/nvml_gpu.py" calibrate --out "$out" "$@"
for model in "$@"; do
  for batch in 1 32; do
    "${pollard[@]}" profile "$model" --hardware "$hardware" --batch "$batch" \
      > "$out/profile-analytical-$(basename "$model" .onnx)-b$batch.txt"
  done
done
for batch in 1 32; do
  name="profile-nvml-$(basename "$1" .onnx)-b$batch"
  start="$(date +%s.%N)"
  "${pollard[@]}" profile "$1" --meter nvml --hardware "$hardware" --batch "$batch" --windows "$windows" \
    > "$out/$name.txt" 2>&1 || echo "pollard profile --meter nvml failed: see $out/$name.txt" >&2
  echo "$start $(date +%s.%N)" > "$out/$name.time"
done
kill "$sampler"
wait "$sampler" 2> /dev/null || true
python3 "$here/nvml_gpu.py" report "$out" --windows "$windows"
