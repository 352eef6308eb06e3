#!/usr/bin/env bash
# Runs ON THE GPU MACHINE, from the repo root, with .device/ carried (bench/prepare-device.sh):
#   1. training throughput, facenet-lab (candle, CUDA) and PyTorch on the same step
#      (forward, all-triplet loss, backward, Adam) for alexnet/resnet18/resnet152, batch 32 and
#      64 at 224x224; PyTorch in fp32 and with bf16 autocast;
#   2. training runs given as arguments (facenet-lab run flags, one run per argument), each
#      recorded in $OUT/gpu-lab.db, to be merged here with `facenet-lab lab merge`.
# Everything it prints or records lands in $OUT. Steps that fail are reported, not fatal.
#   bench/gpu.sh "resnet18 --batch 32 --dim 128 --epochs 100" "resnet152 --batch 32 --dim 64 --epochs 20"
set -uo pipefail
OUT=${OUT:-/tmp/facenet-out}
mkdir -p "$OUT"
# shellcheck disable=SC1091
source .device/device-env.sh >"$OUT/env.txt" 2>&1 || { cat "$OUT/env.txt"; exit 1; }
set +e
gzip -dc .device/facenet-lab.gz >/tmp/fl && chmod +x /tmp/fl
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT/gpu.txt"

if [[ "${SKIP_BENCH:-0}" != 1 ]]; then
  for b in 32 64; do
    /tmp/fl bench --device cuda --batch "$b" --image-size 224 --steps "${STEPS:-10}"
  done 2>&1 | tee "$OUT/bench-candle.txt"
  python3 bench/torch_step.py --steps "${STEPS:-10}" 2>&1 | tee "$OUT/bench-torch.txt"
fi

for spec in "$@"; do
  # shellcheck disable=SC2086
  /tmp/fl --db "$OUT/gpu-lab.db" run $spec --data .device/lfw-20-30 --device cuda --quiet \
    --tag gpu 2>&1 | tail -6 | tee -a "$OUT/runs.txt"
done
/tmp/fl --db "$OUT/gpu-lab.db" runs >"$OUT/runs-table.txt" 2>&1
exit 0
