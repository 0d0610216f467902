"""Search-efficiency benchmark: which planner finds a better model in fewer trainings?

Runs the real CLI (`node dist/cli.js run`) on a fresh copy of nas_system for every
planner x seed, on one low-fidelity task (bench/search_config.py: ETTh1, MS, 96/48/24,
starting from a small Informer (bench/search_space.json also offers the other model
families), at most 3 epochs), with the rules-only evaluator so the verdicts
are deterministic. Every search starts from the same config: iteration 1 is the
baseline. Reports the best-so-far val_mse per iteration (mean +- std over seeds) and
the test_mse of each search's final best run; writes a CSV and a PNG of the curves.

    NAS_DATA_DIR=../shared/data/ETT-small .venv/bin/python bench/search.py \
        --iterations 12 --seeds 3 --planners random,optuna,mock

A planner written NAME@K runs with --parallel K (e.g. optuna,optuna@4: what a batch of 4
costs in search quality, and what it saves in wall time).

llm and llm+optuna are added when OPENROUTER_API_KEY is set (or name them).
"""
from __future__ import annotations

import argparse
import concurrent.futures
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
WORKSPACE_FILES = ["train.py", "model.py", "models", "data.py", "nas_agent"]


def make_workspace(parent: Path, name: str, config_text: str | None = None, space: dict | None = None) -> Path:
    """A fresh nas_system copy holding the bench's config and search space (or the given ones)."""
    ws = parent / name
    ws.mkdir()
    for item in WORKSPACE_FILES:
        src = ROOT / "nas_system" / item
        if src.is_dir():
            shutil.copytree(src, ws / item, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, ws / item)
    (ws / "config.py").write_text(config_text if config_text is not None else (BENCH / "search_config.py").read_text())
    if space is not None:
        (ws / "search_space.json").write_text(json.dumps(space, indent=2))
    else:
        shutil.copy2(BENCH / "search_space.json", ws / "search_space.json")
    return ws


def split_arm(arm: str) -> tuple[str, int]:
    """"optuna@4" -> ("optuna", 4); "optuna" -> ("optuna", 1)."""
    name, _, k = arm.partition("@")
    return name, int(k or 1)


def run_search(ws: Path, arm: str, seed: int, iterations: int, log, env: dict) -> float:
    planner, parallel = split_arm(arm)
    cmd = [
        "node", str(ROOT / "dist" / "cli.js"), "run",
        "--system-dir", str(ws),
        "--planner", planner,
        "--max-iterations", str(iterations),
        "--seed", str(seed),
        "--max-epochs", "3",
        "--json",
    ]
    if parallel > 1:
        cmd += ["--parallel", str(parallel)]
    if planner == "mock":
        cmd += ["--mock-file", str(BENCH / "mock_decisions.json")]
    if planner not in ("llm", "llm+optuna"):
        cmd += ["--evaluator", "rules"]
    started = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=log, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"{arm} seed {seed} failed (exit {proc.returncode}); see {log.name}")
    return time.perf_counter() - started


def best_so_far(ws: Path, iterations: int) -> tuple[list[float], float | None]:
    """Best val_mse among the completed runs after each iteration, and the final best's test_mse."""
    state = json.loads((ws / "agent_state.json").read_text())
    runs = sorted(state["runs"], key=lambda r: r["run_id"])
    curve: list[float] = []
    best = None
    for run in runs[:iterations]:
        val = run.get("val_mse")
        if run.get("status") == "ok" and val is not None and (best is None or val < best["val_mse"]):
            best = run
        curve.append(best["val_mse"] if best else float("nan"))
    while len(curve) < iterations:  # a search that stopped early keeps its best
        curve.append(curve[-1] if curve else float("nan"))
    return curve, (best or {}).get("test_mse")


def mean_std(xs: list[float]) -> tuple[float, float]:
    return statistics.fmean(xs), (statistics.pstdev(xs) if len(xs) > 1 else 0.0)


def plot(curves: dict[str, list[list[float]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for planner, seeds in curves.items():
        its = list(range(1, len(seeds[0]) + 1))
        stats = [mean_std([s[i] for s in seeds]) for i in range(len(its))]
        means = [m for m, _ in stats]
        ax.plot(its, means, marker="o", label=planner)
        ax.fill_between(its, [m - s for m, s in stats], [m + s for m, s in stats], alpha=0.15)
    ax.set_xlabel("iteration (trainings)")
    ax.set_ylabel("best-so-far val_mse (mean ± std over seeds)")
    ax.set_title("ETTh1 MS 96/48/24, from a small Informer, 3 epochs per training")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=12)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--planners", default="")
    ap.add_argument("--out", default=str(BENCH / "out"))
    ap.add_argument("--jobs", type=int, default=1, help="searches run at once (2 on a 2-core box: one torch thread each)")
    args = ap.parse_args()

    planners = args.planners.split(",") if args.planners else ["random", "optuna", "mock"]
    if not args.planners and os.environ.get("OPENROUTER_API_KEY"):
        planners += ["llm", "llm+optuna"]
    if not (ROOT / "dist" / "cli.js").exists():
        raise SystemExit("dist/cli.js is missing: run `npm run build` first")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    # Searches are independent: with --jobs 2 each training gets one thread of its own.
    env = dict(os.environ)
    if args.jobs > 1:
        env.setdefault("OMP_NUM_THREADS", "1")
    # mock replays one script and the training seed is fixed: its seeds are identical.
    jobs = [(p, s) for p in planners for s in range(1 if p == "mock" else args.seeds)]
    results: dict[tuple[str, int], tuple[list[float], float | None, float]] = {}
    with tempfile.TemporaryDirectory(prefix="nas-bench-") as tmp:

        def one(job: tuple[str, int]) -> None:
            planner, seed = job
            name = f"{planner.replace('+', '_').replace('@', '_k')}-{seed}"
            ws = make_workspace(Path(tmp), name)
            with open(out / f"search-{name}.log", "w") as log:
                wall = run_search(ws, planner, seed, args.iterations, log, env)
            curve, test_mse = best_so_far(ws, args.iterations)
            results[job] = (curve, test_mse, wall)
            print(f"{planner:>11} seed {seed}: best val_mse {curve[-1]:.4f}  test_mse {test_mse}  ({wall / 60:.1f} min)", flush=True)

        started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            for f in [pool.submit(one, job) for job in jobs]:
                f.result()
        total_wall = time.perf_counter() - started

    curves: dict[str, list[list[float]]] = {p: [] for p in planners}
    finals: dict[str, list[float]] = {p: [] for p in planners}
    walls: dict[str, float] = {p: 0.0 for p in planners}
    for (planner, _seed), (curve, test_mse, wall) in sorted(results.items()):
        curves[planner].append(curve)
        walls[planner] += wall
        if test_mse is not None:
            finals[planner].append(test_mse)

    with open(out / "search.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["planner", "seed", "iteration", "best_val_mse"])
        for planner, seeds in curves.items():
            for seed, curve in enumerate(seeds):
                for i, v in enumerate(curve, start=1):
                    w.writerow([planner, seed, i, f"{v:.6f}"])
    plot(curves, out / "search.png")

    print(f"\ntotal wall time {total_wall / 60:.1f} min with --jobs {args.jobs}")
    print(f"\n| planner | best val_mse @{args.iterations} (mean ± std) | final best test_mse | search time (sum) |")
    print("| --- | --- | --- | --- |")
    for planner, seeds in curves.items():
        m, s = mean_std([c[-1] for c in seeds])
        tm, ts = mean_std(finals[planner]) if finals[planner] else (float("nan"), 0.0)
        print(f"| {planner} | {m:.4f} ± {s:.4f} | {tm:.4f} ± {ts:.4f} | {walls[planner] / 60:.1f} min |")
    print("\nper-iteration best-so-far val_mse (mean):")
    for planner, seeds in curves.items():
        means = [statistics.fmean(c[i] for c in seeds) for i in range(args.iterations)]
        print(f"  {planner:>11}: " + " ".join(f"{v:.4f}" for v in means))
    print(f"\nwrote {out / 'search.csv'} and {out / 'search.png'}")


if __name__ == "__main__":
    sys.exit(main())
