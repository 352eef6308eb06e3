#!/usr/bin/env bash
# Prepares .device/ (git-ignored) for the GPU machine: the CUDA build of facenet-lab, stripped
# and gzipped, device-env.sh, and the LFW 20-30 pool. Run here, then carry `.device` and run
# bench/gpu.sh there (see ../shared/gpu/README.md for the toolchain).
set -euo pipefail
cd "$(dirname "$0")/.."
bash ../shared/gpu/setup-cuda-toolchain.sh >/dev/null
# shellcheck disable=SC1091
source /opt/cuda-pip/env.sh
# Its own target folder, so that the CPU build in target/release (bench/import-gpu.sh) stays.
cargo build --release --features cuda --target-dir target/cuda
mkdir -p .device
strip -o .device/facenet-lab target/cuda/release/facenet-lab
gzip -9f .device/facenet-lab
cp ../shared/gpu/device-env.sh .device/
rm -rf .device/lfw-20-30 && cp -r ../shared/data/lfw-20-30 .device/
du -sh .device
