#!/usr/bin/env bash
# Runs ON THE GPU MACHINE, from the repo root, with .device/ carried (bench/prepare-device.sh).
# One call does it all, inside the device tool's 10-minute command limit (BUDGET seconds):
#   0. facenet-lab's own CUDA kernels checked against the CPU (bench --check), and its training
#      step against PyTorch's from the same weights (bench --parity);
#   1. training throughput of facenet-lab (its own CUDA kernels) and PyTorch on the same step
#      (forward, all-triplet loss, backward, Adam) for alexnet/resnet18/resnet152, batch 32
#      and 64 at 224x224, at batch 32 also on candle's kernels alone and with TF32 products;
#      PyTorch in strict fp32, its default TF32 convolutions and bf16 autocast;
#   2. training runs, each time-boxed with --time-limit (a run that hits it is recorded as
#      interrupted, with its epochs), into $OUT/gpu-lab.db;
#   3. the best checkpoint of the best run small enough to travel (ResNet18's 45 MB), split in
#      15 MB parts, so that `eval --pairs` can run here on the weights trained there
#      (bench/import-gpu.sh reassembles, merges and evaluates). Other checkpoints stay there,
#      so runs interrupted there cannot be resumed here.
# Runs are the arguments (facenet-lab run flags, one run per argument, split on spaces); without
# arguments the plan below runs. Steps that fail are reported, not fatal. Everything lands in
# $OUT in at most 6 files (the tool brings back 8): gpu-lab.db, gpu-report.txt, the parts.
#   OUT=$OUT bash bench/gpu.sh
#   OUT=$OUT SKIP_BENCH=1 bash bench/gpu.sh "resnet18 --batch 32 --dim 128 --epochs 100 --time-limit 3m"
# A dry run of the script itself on a CPU machine, with a CPU build in .device/ (PyTorch's
# step runs small on the CPU when python3 has torch, e.g. PATH=/tmp/torchenv/bin:$PATH):
#   OUT=/tmp/out DEVICE=cpu STEPS=1 bash bench/gpu.sh "resnet18 --image-size 32 --epochs 1 --batch 16"
set -uo pipefail
OUT=${OUT:-/tmp/facenet-out}
STEPS=${STEPS:-5}
DEVICE=${DEVICE:-cuda}
BUDGET=${BUDGET:-570} # seconds for the whole script; the last RESERVE are kept for step 3
RESERVE=60
mkdir -p "$OUT"
section() { printf '\n== %s (%ss in)\n' "$1" "$SECONDS"; }
left() { echo $((BUDGET - RESERVE - SECONDS)); }
# A step's time limit: N seconds, or what is left of the budget if that is less.
cap() { local l; l=$(left); echo $(($1 < l ? $1 : (l > 1 ? l : 1))); }

main() {
  if [[ $# -eq 0 ]]; then
    # The seed's two rows that never ran, ResNet152 32/128 and 8/64 (the other four have runs:
    # 39, 40, 42 and 43). Neither will finish its 100 epochs: each runs until its limit (the
    # second until the budget's end, after the benchmarks' 2.5-3 min) and is recorded as
    # interrupted with the epochs it had; their checkpoints stay on that machine. They multiply
    # in TF32, as the seed's PyTorch convolutions did by default: in strict f32 ResNet152
    # trained at 62 images/s, 10 s an epoch. A dry run on the CPU refuses them (--tf32 needs
    # CUDA): give it runs as arguments. The first GPU session (runs 35-43,
    # docs/experiments.md) ran:
    #   resnet18 --batch 32 --dim 128 --epochs 100 --time-limit 80s --name seed-resnet18-b32-d128
    #   resnet152 --batch 32 --dim 64 --epochs 100 --time-limit 140s --name seed-resnet152-b32-d64
    #   resnet18 --batch 32 --dim 128 --sampler pk --pk-k 4 --normalize --mining semihard
    #     --augment --crop 0.5 --lr 3e-4 --epochs 300 --time-limit 160s (the best recipe, now
    #     experiments/best-recipe-gpu-224-crop.toml)
    #   alexnet --batch 32 --dim 128 --epochs 100 --time-limit 65s (done in 56 s)
    #   resnet18 --batch 64 --dim 128 --epochs 100 --time-limit 45s --name seed-resnet18-b64-d128
    set -- \
      "resnet152 --batch 32 --dim 128 --epochs 100 --tf32 --time-limit ${LIMIT_R152:-170s} --name seed-resnet152-b32-d128 --tag seed-table" \
      "resnet152 --batch 8 --dim 64 --epochs 100 --tf32 --time-limit ${LIMIT_R152_B8:-170s} --name seed-resnet152-b8-d64 --tag seed-table"
  fi

  section "environment"
  if [[ $DEVICE == cuda ]]; then
    # shellcheck disable=SC1091
    source .device/device-env.sh || { echo "device-env.sh failed"; return 1; }
  fi
  set +e
  gzip -dc .device/facenet-lab.gz >/tmp/fl && chmod +x /tmp/fl || { echo "no binary"; return 1; }
  /tmp/fl --version
  # The digest of the sources the binary was built from, which bench/prepare-device.sh wrote
  # beside it, against this tree's.
  if [[ "$(cat .device/sources.sha256 2>/dev/null)" != "$(bash bench/sources-digest.sh)" ]]; then
    echo "WARNING: .device/facenet-lab.gz was not built from this tree's sources: rerun"
    echo "bench/prepare-device.sh before the next call"
  fi
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv

  if [[ $DEVICE == cuda ]]; then
    # facenet-lab's own CUDA kernels (convolution, batch norm, max pooling, ReLU, Adam;
    # src/cuda) against the CPU's ops on random inputs, before anything uses them. If they disagree, everything after runs on
    # candle's kernels alone (FACENET_LAB_KERNELS=candle), as before those kernels existed.
    # The verdict is the check's own line: a bench that fails or overruns after a passing
    # check does not turn the kernels off.
    section "check: facenet-lab's CUDA kernels against the CPU"
    timeout -k 10 "$(cap 120)" /tmp/fl bench --device cuda --check --models alexnet --batch 4 \
      --image-size 64 --steps 1 >/tmp/check.txt 2>&1
    echo "(exit $?)" >>/tmp/check.txt
    cat /tmp/check.txt
    if ! grep -q "^the CUDA kernels agree with the CPU" /tmp/check.txt; then
      echo "(the check failed: the rest runs on candle's kernels alone)"
      export FACENET_LAB_KERNELS=candle
    fi
  fi

  if [[ "${SKIP_BENCH:-0}" != 1 ]] && python3 -c "import torch, torchvision" 2>/dev/null; then
    # One training step of PyTorch's ResNet18 and AlexNet in f64 and f32 on this machine's
    # CPU, then facenet-lab's step from the same weights on $DEVICE (bench --parity; ResNet152's
    # 1.6 GB reference is left out for time).
    section "parity: facenet-lab's step ($DEVICE) against PyTorch's"
    rm -rf /tmp/parity
    if timeout -k 10 "$(cap 90)" python3 bench/torch_parity.py --archs alexnet,resnet18 \
      --out /tmp/parity >/dev/null; then
      timeout -k 10 "$(cap 60)" /tmp/fl bench --device "$DEVICE" --parity /tmp/parity/*.safetensors 2>&1 ||
        echo "(parity: exit $?)"
    else
      echo "(bench/torch_parity.py failed, exit $?)"
    fi
    rm -rf /tmp/parity
  fi

  if [[ "${SKIP_BENCH:-0}" != 1 ]]; then
    section "facenet-lab bench ($DEVICE), $STEPS steps"
    # Each call stops at 100 s or the budget's end, and none starts with under 30 s left.
    bench() {
      if (($(left) < 30)); then
        echo "(bench $*: skipped, $(left)s left of the budget)"
        return
      fi
      timeout -k 10 "$(cap 100)" /tmp/fl bench --device "$DEVICE" --image-size 224 \
        --steps "$STEPS" "$@" || echo "(bench $*: stopped, exit $?)"
    }
    # At batch 32 also where each model's step goes, layer kind by kind (--profile, printed
    # after the throughput table).
    bench --batch 32 --profile
    if [[ $DEVICE == cuda && ${FACENET_LAB_KERNELS:-} != candle ]]; then
      echo "-- the same step on candle's kernels alone (the first GPU session's build)"
      FACENET_LAB_KERNELS=candle bench --batch 32
      echo "-- facenet-lab's kernels, matrix products in TF32"
      bench --batch 32 --tf32
    fi
    bench --batch 64
    section "PyTorch bench, $STEPS steps"
    if [[ $DEVICE == cuda ]]; then
      PYTHONUNBUFFERED=1 timeout -k 10 "$(cap 120)" python3 bench/torch_step.py --steps "$STEPS" ||
        echo "(PyTorch: stopped, exit $?)"
    elif python3 -c "import torch, torchvision" 2>/dev/null; then
      # The dry run: the script's CPU path, small.
      PYTHONUNBUFFERED=1 timeout -k 10 "$(cap 120)" python3 bench/torch_step.py --device cpu \
        --steps "$STEPS" --batches 4 --image-size 64 || echo "(PyTorch: stopped, exit $?)"
    else
      echo "(PyTorch absent here: python3 cannot import torch and torchvision; skipped)"
    fi
  fi

  for spec in "$@"; do
    section "run $spec"
    if (($(left) < 60)); then
      echo "(skipped: $(left)s left of the budget)"
      continue
    fi
    # A hung run must not eat the call: SIGINT is the trainer's Ctrl-C (finish the step,
    # checkpoint, interrupted); a step that never finishes gets killed 20 s later.
    # Runs on candle's kernels alone (the check failed) say so in a tag.
    extra=()
    [[ ${FACENET_LAB_KERNELS:-} == candle ]] && extra=(--tag candle-kernels)
    # shellcheck disable=SC2086
    timeout -k 20 -s INT "$(left)" /tmp/fl --db "$OUT/gpu-lab.db" run $spec \
      --data .device/lfw-20-30 --device "$DEVICE" --quiet --tag gpu "${extra[@]}" 2>&1 | tail -8
  done

  section "runs"
  /tmp/fl --db "$OUT/gpu-lab.db" runs

  section "checkpoint to bring back"
  python3 - "$OUT" <<'EOF'
import os, sqlite3, subprocess, sys
out = sys.argv[1]
db = os.path.join(out, "gpu-lab.db")
if not os.path.exists(db):
    sys.exit("no lab: no run started")
con = sqlite3.connect(db)
# Fold a killed writer's WAL into the file, so that the lab travels as one file.
con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
rows = con.execute(
    """SELECT r.id, r.name, r.best_dev_acc, c.path, c.sha256 FROM runs r
       JOIN checkpoints c ON c.run_id = r.id AND c.kind = 'best'
       WHERE r.best_dev_acc IS NOT NULL ORDER BY r.best_dev_acc DESC, r.id""").fetchall()
# The best run whose best checkpoint fits in 3 parts of 15 MiB.
for run, name, acc, path, sha in rows:
    full = path if os.path.isabs(path) else os.path.join(out, path)
    size = os.path.getsize(full)
    if size > 45 * 2**20:
        print(f"run {run} ({name}, dev {acc:.3f}): best checkpoint {size / 2**20:.0f} MiB, too big to bring back")
        continue
    print(f"run {run} ({name}, dev {acc:.3f}): bringing back {path} ({size / 2**20:.1f} MiB, sha256 {sha})")
    subprocess.run(["split", "-b", "15M", "-d", full, os.path.join(out, f"best-run-{run}.part")], check=True)
    break
else:
    print("no best checkpoint small enough to bring back")
EOF
  rm -rf "$OUT/checkpoints"
  ls -la "$OUT"
}

main "$@" 2>&1 | tee "$OUT/gpu-report.txt"
exit 0
