#!/usr/bin/env bash
# One call on a GPU machine (the `device` tool): every GPU figure of the project, each part under
# its own time limit so that one failing part never costs the others.
#   1. bench/gpu_bench.py: our epoch time vs the reference Informer2020, fp32 / bf16 / compile
#      modes, 3-seed fp32 vs bf16 accuracy at the users' setting (issue 7);
#   2. bench/throughput.py: K = 1, 2, 4 trainings at once at the users' setting, 3 epochs (issue 11);
#   3. bench/families.py: PatchTST/42 with the paper's epochs on the GPU, 3 seeds (issue 8).
# Needs ETTh1.csv in DATA (default .data) and the reference code in .ref/Informer2020 (both
# carried, never committed). Writes at most 8 files to OUT (the tool's limit).
#     bash bench/device_run.sh [GPU_BENCH_BUDGET_S]
set -u
OUT="${OUT:-/tmp/device-out}"
DATA="${DATA:-.data}"
BUDGET="${1:-330}"
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader > "$OUT/gpu.txt" 2>&1
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(0))" >> "$OUT/gpu.txt" 2>&1
cat "$OUT/gpu.txt"

echo "== 1. gpu_bench (budget ${BUDGET}s)"
timeout $((BUDGET + 40)) python3 bench/gpu_bench.py --data-dir "$DATA" --out /tmp/gb --budget "$BUDGET" > "$OUT/gpu_bench.txt" 2>&1
echo "exit $?" >> "$OUT/gpu_bench.txt"
cp /tmp/gb/gpu_bench.json "$OUT/" 2>/dev/null
tail -45 "$OUT/gpu_bench.txt"

echo "== 2. throughput"
timeout 120 python3 bench/throughput.py --config nas_system/config.py --ks 1,2,4 --epochs 3 --device cuda \
  --data-dir "$DATA" --out "$OUT/throughput.json" > "$OUT/throughput.txt" 2>&1
echo "exit $?" >> "$OUT/throughput.txt"
cat "$OUT/throughput.txt"

echo "== 3. families (PatchTST on the GPU)"
timeout 100 python3 bench/families.py --families patchtst --seeds 3 --jobs 3 --device cuda \
  --patchtst-epochs 100 --patchtst-patience 20 --data-dir "$DATA" > "$OUT/families.txt" 2>&1
echo "exit $?" >> "$OUT/families.txt"
cat "$OUT/families.txt"
