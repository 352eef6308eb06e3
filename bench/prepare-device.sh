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
# The kernels' PTX assembled for the H100/H200 (sm_90) here: a PTX that the GPU's driver would
# refuse is found before a GPU call.
ptx=$(ls -t target/cuda/release/build/facenet-lab-*/out/facenet-kernels.ptx | head -1)
# The architecture build.rs compiled for (CUDA_COMPUTE_CAP, 90 unless set).
arch=sm_${CUDA_COMPUTE_CAP:-90}
ptxas -arch="$arch" -o /dev/null "$ptx"
echo "PTX assembles for $arch: $ptx"
mkdir -p .device
strip -o .device/facenet-lab target/cuda/release/facenet-lab
gzip -9f .device/facenet-lab
# What bench/gpu.sh compares with the tree it runs in, so that a binary older than the scripts
# beside it is named before the call spends its minutes on it.
bash bench/sources-digest.sh >.device/sources.sha256
cp ../shared/gpu/device-env.sh .device/
rm -rf .device/lfw-20-30 && cp -r ../shared/data/lfw-20-30 .device/
du -sh .device
