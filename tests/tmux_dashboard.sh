#!/usr/bin/env bash
# Drives the real dashboard in tmux as a person would, at 100x30:
#   1. a lab with a finished run and a running one: the runs table shows both;
#   2. the running run's detail: its curve grows on screen while it trains, no key pressed;
#   3. compare of the two runs lists exactly the hyperparameters that differ.
# The running run comes from $FEEDER_CMD (run with FACENET_LAB_DB set), by default a small
# example that writes through the Lab API; with the real trainer:
#   FEEDER_CMD='target/debug/facenet-lab run resnet18 --data synthetic --image-size 32 --epochs 3 --batch 16' \
#     tests/tmux_dashboard.sh
# The dashboard binary and the example are built into $CARGO_TARGET_DIR (default target/)
# unless FACENET_LAB_BIN and FACENET_LAB_FEED name ready-built ones.
# Exits non-zero on failure and prints what it saw.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v tmux >/dev/null || { echo "tmux is not installed (apt-get install -y tmux)"; exit 2; }
target=${CARGO_TARGET_DIR:-target}
[[ -n "${FACENET_LAB_BIN:-}" ]] || cargo build --quiet --bin facenet-lab
[[ -n "${FACENET_LAB_FEED:-}" ]] || cargo build --quiet --example feed_lab
BIN=${FACENET_LAB_BIN:-$target/debug/facenet-lab}
FEED=${FACENET_LAB_FEED:-$target/debug/examples/feed_lab}
FEEDER_CMD=${FEEDER_CMD:-"$FEED running 40"}

work=$(mktemp -d)
export FACENET_LAB_DB=$work/lab.db
session=facenet-dash-$$
feeder_pid=
cleanup() {
    tmux kill-session -t "$session" 2>/dev/null || true
    if [[ -n "$feeder_pid" ]]; then
        # SIGTERM, which a trainer takes as Ctrl-C: a background job of this script started
        # with SIGINT ignored, which a process without its own handler keeps.
        kill -TERM "$feeder_pid" 2>/dev/null || true
        # A stopped trainer finishes its step and writes a checkpoint: wait for it (30 s at
        # most), or it writes into the folder while it is being removed.
        for _ in $(seq 100); do
            kill -0 "$feeder_pid" 2>/dev/null || break
            sleep 0.3
        done
        kill -KILL "$feeder_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $1"
    echo "---- screen ----"
    tmux capture-pane -p -t "$session" 2>/dev/null || true
    echo "----------------"
    exit 1
}
screen() { tmux capture-pane -p -t "$session"; }
wait_for() { # wait_for PATTERN SECONDS
    local deadline=$((SECONDS + $2))
    while ((SECONDS < deadline)); do
        screen | grep -aq -- "$1" && return 0
        sleep 0.3
    done
    return 1
}

"$FEED" finished >/dev/null
bash -c "$FEEDER_CMD" >"$work/feeder.log" 2>&1 &
feeder_pid=$!
deadline=$((SECONDS + 120))
# Wait until the running run has recorded a few steps (a real trainer loads its data first).
recording() {
    "$BIN" runs --json 2>/dev/null | python3 -c '
import json, sys
runs = json.load(sys.stdin)
sys.exit(0 if any(r["effective_status"] == "running" and r["last_iteration"] >= 2 for r in runs) else 1)'
}
until recording; do
    ((SECONDS < deadline)) || { cat "$work/feeder.log"; echo "FAIL: the feeder never started a running run"; exit 1; }
    sleep 0.5
done

# The title bar reads "N runs · 1 running" on every screen: these checks look for what only
# the runs table shows, its border title and a status cell followed by the epoch cell.
table_title="┌ runs "
tmux new-session -d -s "$session" -x 100 -y 30 "FACENET_LAB_DB='$FACENET_LAB_DB' '$BIN'"
wait_for "$table_title" 10 || fail "the dashboard did not start"
wait_for "running  *[0-9][0-9]*/[0-9]" 10 || fail "no running run in the table"
screen | grep -aq "completed  *[0-9][0-9]*/[0-9]" || fail "the finished run is not in the table"
echo "ok: runs table shows the finished and the running run"
screen | sed -n '1,6p'

# Newest first: the running run is highlighted. Open it and watch, hands off the keyboard.
tmux send-keys -t "$session" Enter
wait_for "· it [0-9]" 10 || fail "the detail view did not open"
iteration() { screen | grep -o ' it [0-9]*' | head -1 | tr -dc '0-9' || true; }
# The right-hand charts' x-axis labels end their lines: the last one is the axis end.
xmax() { screen | grep -oE '[0-9.kM]+│$' | head -1 | tr -d '│' || true; }
first=$(iteration); first_x=$(xmax); before=$(screen)
# Until the run has trained on and its curve grown (30 s at most), no key pressed.
deadline=$((SECONDS + 30))
while :; do
    sleep 0.5
    second=$(iteration); second_x=$(xmax); after=$(screen)
    ((${second:-0} > ${first:-0})) && [[ "$first_x" != "$second_x" ]] && break
    ((SECONDS < deadline)) || break
done
echo "detail: iteration $first -> $second, x axis end $first_x -> $second_x (no key pressed)"
((${second:-0} > ${first:-0})) || fail "the iteration did not advance on screen"
[[ "$first_x" != "$second_x" ]] || fail "the curve's x axis did not grow"
[[ "$before" != "$after" ]] || fail "the screen did not change"
echo "ok: the running run's curve grows live"
screen | sed -n '1,16p'

# Compare the two runs: only their differing hyperparameters are listed, and how long each
# trained where that differs. The metrics come first, and at 30 rows the table would be cut: a
# taller terminal shows all of it.
tmux send-keys -t "$session" Escape
wait_for "$table_title" 5 || fail "esc did not return to the table"
tmux resize-window -t "$session" -x 100 -y 45
tmux send-keys -t "$session" g Space Space c
wait_for "differing hyperparameters" 5 || fail "compare did not open"
wait_for "^│img/s " 5 || fail "compare shows no metrics"
"$BIN" runs --json >"$work/runs.json"
expected=$(python3 - "$work/runs.json" "$work/labels" <<'PY'
import json, sys
runs = json.load(open(sys.argv[1]))
names = {"model": "model", "batch_size": "batch", "embedding_dim": "dim", "lr": "lr",
         "lr_schedule": "lr schedule", "warmup_epochs": "warmup", "weight_decay": "weight decay",
         "epochs": "epochs", "patience": "patience", "margin": "margin", "image_size": "image size", "crop": "crop",
         "mining": "mining", "sampler": "sampler", "pk_k": "pk k", "normalize": "normalize",
         "augment": "augment", "zero_init_residual": "zero-init residual",
         "fresh_embedding": "fresh embedding", "imagenet_norm": "imagenet norm",
         "dropout": "dropout", "tf32": "tf32", "eval_every": "eval every",
         "checkpoint_every": "ckpt every", "seed": "seed"}
# The --init file shows as one row: its path, its hash and the run that wrote it.
init_keys = {"init", "init_sha256"}
h = [r["hyper"] for r in runs]
unknown = set().union(*h) - set(names) - init_keys
if unknown:
    sys.exit(f"hyperparameters this test does not know: {sorted(unknown)}")
diff = [v for k, v in names.items() if len({json.dumps(x[k]) for x in h}) > 1]
if len({json.dumps([r["hyper"]["init"], r["hyper"]["init_sha256"], r["init_run"]]) for r in runs}) > 1:
    diff.append("init")
# Every row label compare may show, for reading the screen below.
open(sys.argv[2], "w").write("\n".join([*names.values(), "init", "dataset", "trained"]))
if len({r["dataset_id"] for r in runs}) > 1:
    diff.append("dataset")
# How long each trained, as the table's `trained` row gives it where the runs differ (one is
# still running here).
def trained(r):
    e, done = r["hyper"]["epochs"], r["epochs_done"]
    if r["status"] == "completed":
        return str(e) if done == e else f'{done}/{e} (stopped early)'
    return f'{done}/{e} ({r["status"]})'
if len({trained(r) for r in runs}) > 1:
    diff.append("trained")
print("\n".join(diff))
PY
)
shown=$(screen | python3 -c '
import sys
labels = open(sys.argv[1]).read().split("\n")
lines = sys.stdin.read().splitlines()
start = next(i for i, l in enumerate(lines) if "differing hyperparameters" in l)
metrics = {"best dev", "final dev", "final train", "last loss", "img/s"}
for l in lines[start + 2:]:
    if not l.startswith("\u2502"):
        break
    # The longest label the row starts with (one that fills its column has a single space
    # after it); a row of no known label is shown whole, so that it fails the check.
    known = [k for k in [*labels, *metrics] if l[1:].startswith(k + " ")]
    label = max(known, key=len) if known else l[1:].strip(" \u2502")
    if label and label not in metrics:
        print(label)
' "$work/labels")
echo "compare lists: $(echo $shown)"
echo "differing:     $(echo $expected)"
[[ "$(sort <<<"$shown")" == "$(sort <<<"$expected")" ]] || fail "compare does not list exactly the differing hyperparameters"
screen | grep -aq "^│best dev " || fail "compare shows no metrics"
screen | grep -aq "not shown" && fail "the compare table was cut at 45 rows"
echo "ok: compare lists only the differing hyperparameters"
screen | sed -n '/differing hyperparameters/,$p'

tmux send-keys -t "$session" q
for _ in $(seq 50); do
    tmux has-session -t "$session" 2>/dev/null && screen | grep -aq "facenet-lab" || break
    sleep 0.2
done
if tmux has-session -t "$session" 2>/dev/null && screen | grep -aq "facenet-lab"; then
    fail "q did not quit"
fi
echo "dashboard: 3 passed, 0 failed"
