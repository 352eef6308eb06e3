#!/usr/bin/env bash
# Runs HERE, after a device call of bench/gpu.sh, on the folder its files came back to:
#   bash bench/import-gpu.sh FOLDER
# 1. keeps the GPU lab and gpu-report.txt in gpu-runs/<time>/ (git-ignored), migrated to this
#    build's schema;
# 2. reassembles best-run-N.part* into the checkpoint file the GPU lab records for its run N,
#    and checks its sha256 (a checkpoint that does not check out is dropped, the runs still come);
# 3. merges the GPU lab's runs into ./lab.db (`facenet-lab lab merge`), and copies the checkpoint
#    into checkpoints/run-N/, the merged run's own folder;
# 4. evaluates that checkpoint on the test split and on LFW View 2, first without the pairs that
#    touch the run's training identities, then on all of them (each ROC lands in reports/).
# Then `facenet-lab report --readme README.md` redraws the figures and the README's results.
set -euo pipefail
FROM=$(realpath "${1:?usage: bench/import-gpu.sh FOLDER (where the files of the GPU call came back)}")
cd "$(dirname "$0")/.."
FL=${FL:-target/release/facenet-lab}
DATA=${FACENET_LAB_DATA:-../shared/data}
"$FL" --version >/dev/null 2>&1 || {
  echo "import-gpu: '$FL' does not run here: cargo build --release (the CPU build), or set FL" >&2
  exit 1
}
[[ -f $FROM/gpu-lab.db ]] || { echo "import-gpu: no gpu-lab.db in $FROM" >&2; exit 1; }

DEST=gpu-runs/$(date -u +%Y%m%d-%H%M%S)
mkdir -p "$DEST"
cp "$FROM"/gpu-lab.db* "$DEST/" # with its -wal, if the writer was killed
chmod u+w "$DEST"/gpu-lab.db*
cp "$FROM/gpu-report.txt" "$DEST/" 2>/dev/null || true
"$FL" --db "$DEST/gpu-lab.db" runs # opens it for writing: migrates it and folds in its WAL

# The run whose best checkpoint came back, if any, and where its lab expects the file.
shopt -s nullglob
parts=("$FROM"/best-run-*.part*)
there=""
if ((${#parts[@]})); then
  there=$(basename "${parts[0]}" | sed -E 's/^best-run-([0-9]+)\.part.*/\1/')
  read -r path sha < <(python3 - "$DEST/gpu-lab.db" "$there" <<'EOF'
import sqlite3, sys
con = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
row = con.execute("SELECT path, sha256 FROM checkpoints WHERE run_id = ? AND kind = 'best'",
                  (int(sys.argv[2]),)).fetchone()
print(*(row or ("-", "-")))
EOF
)
  mkdir -p "$DEST/$(dirname "$path")"
  cat "$FROM/best-run-$there".part* >"$DEST/$path.part"
  if [[ $(sha256sum <"$DEST/$path.part" | cut -d' ' -f1) == "$sha" ]]; then
    mv "$DEST/$path.part" "$DEST/$path"
    echo "import-gpu: run $there's best checkpoint reassembled at $DEST/$path (sha256 checked)"
  else
    rm -f "$DEST/$path.part"
    echo "import-gpu: run $there's checkpoint parts do not match its sha256 (a part missing?); merging the runs without it" >&2
    there=""
  fi
else
  echo "import-gpu: no checkpoint came back; merging the runs only"
fi

merged=$("$FL" --db lab.db lab merge "$DEST/gpu-lab.db")
echo "$merged"
[[ -n $there ]] || exit 0
here=$(echo "$merged" | sed -nE "s/^(added|updated) run ([0-9]+) .*run $there there\)?\$/\2/p" | head -1)
[[ -n $here ]] || { echo "import-gpu: run $there was already here; evaluate it by its id" >&2; exit 0; }
# Also in the run's own folder beside the lab, where `eval` and `report --embeddings` find it by
# name and sha256 once gpu-runs/ (git-ignored, this machine's only) is gone.
mkdir -p "checkpoints/run-$here"
cp "$DEST/$path" "checkpoints/run-$here/"
echo "import-gpu: run $here's best checkpoint copied to checkpoints/run-$here/"

"$FL" --db lab.db eval "$here" --checkpoint best
"$FL" --db lab.db eval "$here" --checkpoint best --pairs "$DATA/pairs.txt" --data "$DATA/lfw.tgz" \
  --exclude-train-identities
"$FL" --db lab.db eval "$here" --checkpoint best --pairs "$DATA/pairs.txt" --data "$DATA/lfw.tgz"
