#!/usr/bin/env bash
# Prints one digest of the files the facenet-lab binary is built from (Rust and CUDA sources,
# the build script, the manifest and lock file), run from the repo root. bench/prepare-device.sh
# records it beside the CUDA build; bench/gpu.sh compares it with the tree it runs in.
set -euo pipefail
find src build.rs Cargo.toml Cargo.lock -type f \( -name '*.rs' -o -name '*.cu' -o -name '*.h' \
  -o -name 'Cargo.*' \) -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum |
  cut -d' ' -f1
