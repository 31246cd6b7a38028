#!/usr/bin/env bash
# The GPU host's measurement, from the worker release alone (no npm, no repository, no Node on the host):
#   bench/gpu-release.sh <yi-vl-worker-…-linux-x64[-cuda].tar.xz> <out-dir> [cuda|cpu]
# Unpacks the archive into an empty folder, records what it is (RELEASE.json, the GPU and driver when nvidia-smi is
# there), then runs bin/yi-vl-bench: decode tok/s (step loop and in-graph Loop) against the bandwidth bound, TTFT
# split into vision / prefill / first step, and batch-8 throughput, Yi-VL-6B dimensions extrapolated to 32 layers.
#   cuda  the GPU run: fp16 and int4 (fp16 compute) at full widths; fails unless the sessions run on the CUDA EP.
#   cpu   the same steps on the CPU EP at 1/8 of every width, fp32: a rehearsal of the script, whose figures are CPU
#         figures and say nothing about a GPU.
set -euo pipefail
archive=${1:?release archive}
out=${2:?output folder}
device=${3:-cuda}
case "$device" in
  cuda) args=(--device cuda --dtypes fp16,int4 --layers 1,3 --vision-layers 2) ;;
  cpu) args=(--device cpu --dtypes fp32 --scale 8 --layers 1,2 --vision-layers 2) ;;
  *) echo "gpu-release.sh: device is cuda or cpu, not $device" >&2; exit 2 ;;
esac
mkdir -p "$out"
out=$(cd "$out" && pwd -P)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
started=$(date +%s)
tar -xJf "$archive" -C "$work" --strip-components=1
cp "$work/RELEASE.json" "$out/RELEASE.json"
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv >"$out/gpu.txt" 2>&1 || true
fi
echo "release $(grep -o '"name": "[^"]*"' "$work/RELEASE.json"), device $device, unpacked in $(($(date +%s) - started)) s" | tee "$out/run.txt"
cd "$work"
"$work/bin/yi-vl-bench" "${args[@]}" --out "$out" 2>&1 | tee "$out/bench.log"
if [ "$device" = cuda ] && ! grep -q '^  provider cuda' "$out/bench.log"; then
  echo "gpu-release.sh: the sessions did not run on the CUDA EP (see $out/bench.log)" | tee -a "$out/run.txt" >&2
  exit 1
fi
echo "done in $(($(date +%s) - started)) s" | tee -a "$out/run.txt"
