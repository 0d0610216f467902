#!/usr/bin/env bash
# One call on a GPU machine (the `device` tool): the model-quality benchmark of issue 17
# (bench/quality.py) from the users' own config.py, through the real CLI.
# The machine has python3 with torch but no Node and no Optuna, so the call carries them in .dev/
# (never committed; .git/info/exclude ignores it), made on the CPU machine:
#   .dev/node.xz      this machine's node binary, xz-compressed (Node 20)
#   .dev/nm.tar.xz    node_modules pruned to production dependencies (npm prune --omit=dev)
#   .dev/site/        optuna, alembic, colorlog, mako, sqlalchemy (pure Python: its C extensions removed)
#   .dev/data/        ETTh1.csv (from ../shared/data/ETT-small)
# and dist/ (npm run build). A smoke search of 2 trainings runs first; the benchmark only if it passes.
#     bash bench/device_quality.sh [END_S]   (END_S: seconds from the start by which the summary is printed; 560)
set -u
OUT="${OUT:-/tmp/device-out}"
END="${1:-560}"
COMMON="--iterations 20 --max-epochs 10 --fresh-seeds 3 --parallel 3 --run-timeout 240"
# the default arm on 3 search seeds, and plain Optuna (the peer) on 1, side by side: 12 trainings in flight
QUALITY_ARGS="${QUALITY_ARGS:---arms default --seeds 3 --jobs 3 $COMMON}"
PEER_ARGS="${PEER_ARGS:---arms plain-optuna --seeds 1 --jobs 1 $COMMON}"
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
started=$(date +%s)
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | tee "$OUT/gpu.txt"
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no cuda')" 2>&1 | tee -a "$OUT/gpu.txt"
nproc | sed 's/^/cpus /' | tee -a "$OUT/gpu.txt"

mkdir -p /tmp/node/bin
python3 - <<'EOF' || exit 3
import lzma, os, shutil, tarfile
with lzma.open(".dev/node.xz") as src, open("/tmp/node/bin/node", "wb") as dst:
    shutil.copyfileobj(src, dst)
os.chmod("/tmp/node/bin/node", 0o755)
if not os.path.isdir("node_modules"):
    with tarfile.open(".dev/nm.tar.xz") as t:
        t.extractall(".")
EOF
export PATH="/tmp/node/bin:$PATH" PYTHONPATH="$PWD/.dev/site" NAS_DATA_DIR="$PWD/.dev/data"
echo "unpacked in $(( $(date +%s) - started )) s; node $(node --version)"

echo "== smoke: 2 trainings, 1 epoch, through the CLI"
smoke=/tmp/smoke
rm -rf "$smoke" && cp -r nas_system "$smoke" && rm -rf "$smoke/runs" "$smoke/agent_state.json" "$smoke/.nas-graph"
if ! timeout 150 node dist/cli.js run --system-dir "$smoke" --planner optuna --evaluator rules --max-iterations 2 \
    --baseline-seeds 1 --max-epochs 1 --json > "$OUT/smoke.json" 2> "$OUT/smoke.err"; then
  echo "smoke failed"; tail -30 "$OUT/smoke.err"; exit 4
fi
echo "smoke ok in $(( $(date +%s) - started )) s"; tail -3 "$OUT/smoke.err"

DEADLINE=$(( END - ($(date +%s) - started) ))
echo "== quality (deadline ${DEADLINE} s): $QUALITY_ARGS | $PEER_ARGS"
# shellcheck disable=SC2086
(timeout $((DEADLINE + 30)) python3 bench/quality.py --users $QUALITY_ARGS --deadline "$DEADLINE" --out /tmp/q/ours \
  > "$OUT/quality.txt" 2>&1; echo "exit $?" >> "$OUT/quality.txt") &
# shellcheck disable=SC2086
[ -n "$PEER_ARGS" ] && (timeout $((DEADLINE + 30)) python3 bench/quality.py --users $PEER_ARGS --deadline "$DEADLINE" \
  --out /tmp/q/peer > "$OUT/quality-peer.txt" 2>&1; echo "exit $?" >> "$OUT/quality-peer.txt") &
wait
cat "$OUT/quality.txt" "$OUT/quality-peer.txt" 2>/dev/null
tar -czf "$OUT/quality-logs.tgz" -C /tmp q 2>/dev/null
echo "total $(( $(date +%s) - started )) s"
