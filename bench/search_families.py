"""Search with model families vs Informer only, on the users' task (ETTh1, MS, OT, 336 -> 96).

For each arm and search seed, a 12-training Optuna search through the real CLI
(`node dist/cli.js run --planner optuna --evaluator rules`) on a fresh workspace that starts
from the same CPU-sized Informer (bench/search_config.py at 336/24/96):
- "families": bench/search_space.json as is (model.family and each family's keys);
- "informer": the same space without model.family and without the other families' keys.
Reports the best val_mse after each training (mean over seeds), the naive baselines of the
task, and the final config (the search's best run) retrained with 3 fresh seeds through
train.py: mean val and test MSE (test held out, for the report only).

    npm run build && NAS_DATA_DIR=../shared/data/ETT-small .venv/bin/python bench/search_families.py \
        [--iterations 12] [--seeds 3] [--max-epochs 3] [--fresh-seeds 3] [--jobs 2] [--arms families,informer]
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from search import ROOT, best_so_far, make_workspace, mean_std  # noqa: E402

FAMILY_KEY = "model.family"


def users_task_config() -> str:
    """bench/search_config.py (a small Informer, CPU-sized) on the users' lengths 336/24/96."""
    text = (BENCH / "search_config.py").read_text()
    for key, value in (("seq_len", 336), ("label_len", 24), ("pred_len", 96)):
        text, n = re.subn(rf'"{key}": \d+', f'"{key}": {value}', text)
        assert n == 1, key
    return text.replace("96/48/24", "336/24/96")


def informer_only(space: dict) -> dict:
    """The space without model.family and the keys that do not apply to the Informer."""
    params = {k: v for k, v in space["params"].items()
              if k != FAMILY_KEY and "informer" in v.get("when", {}).get(FAMILY_KEY, ["informer"])}
    for v in params.values():
        v.pop("when", None)
    constraints = [c for c in space.get("constraints", []) if all(k in params for k in c["keys"])]
    return {**{k: v for k, v in space.items() if k != "family_defaults"}, "params": params, "constraints": constraints}


def search(ws: Path, seed: int, iterations: int, max_epochs: int, log, env: dict) -> None:
    cmd = ["node", str(ROOT / "dist" / "cli.js"), "run", "--system-dir", str(ws), "--planner", "optuna",
           "--evaluator", "rules", "--max-iterations", str(iterations), "--seed", str(seed),
           "--max-epochs", str(max_epochs), "--json"]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=log, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"search in {ws.name} failed (exit {proc.returncode}); see {log.name}")


def fresh_seeds(ws: Path, n: int, max_epochs: int, env: dict, at_once: int = 1) -> tuple[list[float], list[float], dict]:
    """Retrain the search's best config with n fresh seeds, up to `at_once` at a time: val and test MSE, and its params."""
    state = json.loads((ws / "agent_state.json").read_text())
    best = next(r for r in state["runs"] if r["run_id"] == state["best_run_id"])
    config = ws / "runs" / best["run_id"] / "config_used.py"

    def one(k: int) -> dict:
        tag = f"fresh_{k}"
        proc = subprocess.run([sys.executable, "-u", "train.py", "--config", str(config), "--tag", tag,
                               "--seed", str(1000 + k), "--max-epochs", str(max_epochs)],
                              cwd=ws, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"fresh seed {k} of {ws.name} failed: {proc.stderr.strip()[-300:]}")
        return json.loads((ws / "runs" / tag / "metrics.json").read_text())

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, at_once)) as pool:
        metrics = list(pool.map(one, range(n)))
    return [m["val_mse"] for m in metrics], [m["test_mse"] for m in metrics], best.get("params", {})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=12)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--max-epochs", type=int, default=3)
    ap.add_argument("--fresh-seeds", type=int, default=3)
    ap.add_argument("--arms", default="families,informer")
    ap.add_argument("--jobs", type=int, default=1, help="searches at once (one torch thread each when > 1)")
    ap.add_argument("--out", default=str(BENCH / "out"))
    args = ap.parse_args()
    if not (ROOT / "dist" / "cli.js").exists():
        raise SystemExit("dist/cli.js is missing: run `npm run build` first")
    full = json.loads((BENCH / "search_space.json").read_text())
    spaces = {"families": full, "informer": informer_only(json.loads(json.dumps(full)))}
    arms = args.arms.split(",")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if args.jobs > 1:
        env.setdefault("OMP_NUM_THREADS", "1")
    results: dict[tuple[str, int], dict] = {}
    with tempfile.TemporaryDirectory(prefix="nas-families-search-") as tmp:

        def one(job: tuple[str, int]) -> None:
            arm, seed = job
            ws = make_workspace(Path(tmp), f"{arm}-{seed}", users_task_config(), spaces[arm])
            started = time.perf_counter()
            with open(out / f"search_families-{arm}-{seed}.log", "w") as log:
                search(ws, seed, args.iterations, args.max_epochs, log, env)
            curve, _ = best_so_far(ws, args.iterations)
            vals, tests, params = fresh_seeds(ws, args.fresh_seeds, args.max_epochs, env)
            naive = next(iter(json.loads((ws / "agent_state.json").read_text()).get("baselines", {}).values()), None)
            results[job] = {"curve": curve, "vals": vals, "tests": tests, "params": params, "naive": naive,
                            "wall": time.perf_counter() - started}
            print(f"{arm:>9} seed {seed}: best val {curve[-1]:.4f}; final config ({params.get(FAMILY_KEY, 'informer')}) "
                  f"fresh seeds val {statistics.fmean(vals):.4f} test {statistics.fmean(tests):.4f} "
                  f"({results[job]['wall'] / 60:.1f} min)", flush=True)

        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            for f in [pool.submit(one, (arm, s)) for arm in arms for s in range(args.seeds)]:
                f.result()

    naive = next((r["naive"] for r in results.values() if r["naive"]), None)
    if naive:
        print(f"\nnaive baselines: persistence val {naive['persistence']['val_mse']:.4f} / test "
              f"{naive['persistence']['test_mse']:.4f}; seasonal naive ({naive['period']}) val "
              f"{naive['seasonal_naive']['val_mse']:.4f} / test {naive['seasonal_naive']['test_mse']:.4f}")
    print(f"\nETTh1 MS OT 336->96, {args.iterations} trainings per search, <= {args.max_epochs} epochs each, "
          f"{args.seeds} search seeds")
    print("| arm | best val @ step 1..N (mean over seeds) | final config, fresh-seed val | fresh-seed test (held out) | final families |")
    print("| --- | --- | --- | --- | --- |")
    for arm in arms:
        runs = [results[(arm, s)] for s in range(args.seeds)]
        curve = [statistics.fmean(r["curve"][i] for r in runs) for i in range(args.iterations)]
        vm, vs = mean_std([statistics.fmean(r["vals"]) for r in runs])
        tm, ts = mean_std([statistics.fmean(r["tests"]) for r in runs])
        fams = ", ".join(str(r["params"].get(FAMILY_KEY, "informer")) for r in runs)
        print(f"| {arm} | {' '.join(f'{v:.4f}' for v in curve)} | {vm:.4f} ± {vs:.4f} | {tm:.4f} ± {ts:.4f} | {fams} |")


if __name__ == "__main__":
    main()
