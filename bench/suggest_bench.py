"""Time `python -m nas_agent suggest` at 100 runs of history (speed bar: < 2 s per call).

Usage: .venv/bin/python bench/suggest_bench.py [--runs 100] [--calls 10] [--sampler tpe]
Builds a throwaway workspace with a random 100-run agent_state.json (10% failed runs), then
times each CLI call end to end: process start, optuna import, study rebuild, ask, output.
"""
import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NAS_SYSTEM = Path(__file__).resolve().parents[1] / "nas_system"
sys.path.insert(0, str(NAS_SYSTEM))

from nas_agent.agent_state import AgentState, RunInfo, add_run, save_agent_state  # noqa: E402
from nas_agent.search_space import check_constraints, load_space  # noqa: E402


def random_params(space, rng):
    while True:
        out = {}
        for k, s in space.params.items():
            if s.type == "bool":
                out[k] = rng.random() < 0.5
            elif s.choices:
                out[k] = rng.choice(s.choices)
            elif s.type == "int":
                out[k] = rng.randint(s.low, s.high)
            else:
                out[k] = rng.uniform(s.low, s.high)
        if not check_constraints(space, out):
            return out


def build_workspace(root: Path, n_runs: int) -> None:
    shutil.copy(NAS_SYSTEM / "config.py", root / "config.py")
    space = load_space(NAS_SYSTEM / "search_space.json")
    rng = random.Random(0)
    state = AgentState(max_runs=n_runs + 10)
    for i in range(n_runs):
        failed = rng.random() < 0.1
        add_run(state, RunInfo(run_id=f"run_{i:04d}", val_mse=None if failed else 0.3 + rng.random(),
                               test_mse=None, history_summary=None, accepted=not failed and rng.random() < 0.3,
                               config_changes={}, status="diverged" if failed else "ok",
                               params=random_params(space, rng)))
    save_agent_state(state, root / "agent_state.json")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--calls", type=int, default=10)
    ap.add_argument("--sampler", choices=["tpe", "random"], default="tpe")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build_workspace(root, args.runs)
        times = []
        for seed in range(args.calls):
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "nas_agent", "--system-dir", str(root), "suggest",
                                   "--sampler", args.sampler, "--seed", str(seed)],
                                  capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(NAS_SYSTEM)})
            times.append(time.perf_counter() - t0)
            if proc.returncode != 0 or not json.loads(proc.stdout)["ok"]:
                sys.exit(f"suggest failed: {proc.stdout}{proc.stderr}")
    print(f"suggest --sampler {args.sampler} at {args.runs} runs, {args.calls} CLI calls: "
          f"mean {statistics.mean(times):.3f} s, max {max(times):.3f} s (bar: < 2 s)")


if __name__ == "__main__":
    main()
