"""Decision-quality benchmark: do verdicts mean "better", or "a lucky seed"?

On the CPU task of bench/search.py (ETTh1, MS, 96/48/24, a small Informer, at most 3 epochs):
  1. the seed-to-seed sd of val_mse of the starting config, over --noise-seeds seeds;
  2. Optuna searches of --iterations trainings with the seed's fixed rules (--acceptance fixed)
     and with the noise-aware evaluator (the default), --seeds search seeds each, through the
     real CLI; both count every training (baseline seeds and repeats included);
  3. each search's final best config trained again with --fresh-seeds seeds no search used:
     mean val and test MSE of those retrainings;
  4. every accepted proposal audited: its config and the incumbent it beat, each retrained with
     the same fresh seeds; a "false accept" is one whose fresh-seed mean val is not lower.

    NAS_DATA_DIR=../shared/data/ETT-small .venv/bin/python bench/decisions.py --jobs 2

Retrainings are cached by config_id under --out, so an interrupted run continues where it was.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from search import BENCH, ROOT, make_workspace  # noqa: E402

PY = sys.executable
FRESH_BASE = 9000  # fresh seeds: 9000, 9001, ... never used by a search (searches use 42 + k)
ARMS = ("fixed", "noise")


def train(ws: Path, config: Path, tag: str, seed: int, env: dict) -> dict:
    """One training through train.py; its metrics.json."""
    cmd = [PY, "-u", "train.py", "--config", str(config), "--tag", tag, "--seed", str(seed), "--max-epochs", "3"]
    proc = subprocess.run(cmd, cwd=ws, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        return {"status": "failed", "error": proc.stderr.strip().splitlines()[-1:]}
    return json.loads((ws / "runs" / tag / "metrics.json").read_text())


def search(ws: Path, arm: str, seed: int, iterations: int, log, env: dict) -> None:
    cmd = ["node", str(ROOT / "dist" / "cli.js"), "run", "--system-dir", str(ws), "--planner", "optuna",
           "--evaluator", "rules", "--acceptance", arm, "--max-iterations", str(iterations), "--seed", str(seed),
           "--max-epochs", "3", "--json"]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=log, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"{arm} seed {seed} failed (exit {proc.returncode}); see {log.name}")


def accepted_events(state: dict) -> list[tuple[str, str]]:
    """(candidate root, incumbent root it was accepted over), in order, from the recorded verdicts."""
    roots = {r["run_id"]: (r.get("repeat_of") or r["run_id"]) for r in state["runs"]}
    events, incumbent = [], None
    for r in state["runs"]:
        if r.get("status") != "ok" or not r.get("accepted"):
            continue
        root = roots[r["run_id"]]
        if r.get("kind") == "baseline" or incumbent is None:
            incumbent = incumbent or root
            continue
        if root != incumbent and (not events or events[-1][0] != root):
            events.append((root, incumbent))
            incumbent = root
    return events


class Fresh:
    """Fresh-seed retrainings of configs, cached by config_id in a JSON file."""

    def __init__(self, path: Path, seeds: int, env: dict):
        self.path, self.seeds, self.env = path, seeds, env
        self.cache = json.loads(path.read_text()) if path.exists() else {}
        self.lock = threading.Lock()

    def of(self, ws: Path, run: dict) -> dict:
        cid = run["config_id"]
        with self.lock:
            if cid in self.cache:
                return self.cache[cid]
        config = ws / "runs" / run["run_id"] / "config_used.py"
        ms = [train(ws, config, f"fresh_{cid}_{k}", FRESH_BASE + k, self.env) for k in range(self.seeds)]
        ok = [m for m in ms if m.get("status") == "ok"]
        out = {"val": [m["val_mse"] for m in ok], "test": [m["test_mse"] for m in ok]}
        with self.lock:
            self.cache[cid] = out
            self.path.write_text(json.dumps(self.cache, indent=1))
        return out


def mean(xs):
    return statistics.fmean(xs) if xs else float("nan")


def sd(xs):
    return statistics.stdev(xs) if len(xs) > 1 else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=12)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--noise-seeds", type=int, default=5)
    ap.add_argument("--fresh-seeds", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--no-audit", action="store_true", help="skip retraining every accepted proposal")
    ap.add_argument("--out", default=str(BENCH / "out" / "decisions"))
    args = ap.parse_args()
    if not (ROOT / "dist" / "cli.js").exists():
        raise SystemExit("dist/cli.js is missing: run `npm run build` first")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 2) // args.jobs)))
    started = time.perf_counter()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs)
    tmp = Path(tempfile.mkdtemp(prefix="nas-decisions-", dir=out))

    # 1. seed noise of the starting config
    noise_ws = make_workspace(tmp, "noise")
    noise = list(pool.map(lambda k: train(noise_ws, noise_ws / "config.py", f"seed_{42 + k}", 42 + k, env),
                          range(args.noise_seeds)))
    vals = [m["val_mse"] for m in noise if m.get("status") == "ok"]
    print(f"starting config, {len(vals)} seeds: val_mse {mean(vals):.4f} ± {sd(vals):.4f} (sd; rel {sd(vals) / mean(vals):.1%}); "
          f"values {[round(v, 4) for v in vals]}", flush=True)

    # 2. searches
    def one(job):
        arm, seed = job
        ws = make_workspace(tmp, f"{arm}-{seed}")
        with open(out / f"search-{arm}-{seed}.log", "w") as log:
            t0 = time.perf_counter()
            search(ws, arm, seed, args.iterations, log, env)
        state = json.loads((ws / "agent_state.json").read_text())
        print(f"{arm:>6} search seed {seed}: {len(state['runs'])} trainings in {(time.perf_counter() - t0) / 60:.1f} min, "
              f"best {state['best_run_id']}", flush=True)
        return job, ws, state

    searches = list(pool.map(one, [(a, s) for a in ARMS for s in range(args.seeds)]))

    # 3 + 4. fresh seeds for every final best and (audit) every accepted proposal and its incumbent
    fresh = Fresh(out / "fresh.json", args.fresh_seeds, env)
    rows = {a: [] for a in ARMS}
    audits = {a: [] for a in ARMS}
    for (arm, seed), ws, state in searches:
        runs = {r["run_id"]: r for r in state["runs"]}
        best = runs[state["best_run_id"]]
        conf = next(c for c in state["configs"] if c["root_run_id"] == best["run_id"])
        final = fresh.of(ws, best)
        rows[arm].append({"seed": seed, "search_val": conf["val_mean"], "n": conf["n"], "fresh_val": mean(final["val"]),
                          "fresh_test": mean(final["test"])})
        if not args.no_audit:
            for cand, inc in accepted_events(state):
                c, i = fresh.of(ws, runs[cand]), fresh.of(ws, runs[inc])
                audits[arm].append({"seed": seed, "candidate": cand, "incumbent": inc,
                                    "false_accept": mean(c["val"]) >= mean(i["val"])})

    wall = (time.perf_counter() - started) / 60
    print(f"\nwall time {wall:.0f} min with --jobs {args.jobs}")
    print(f"\n| acceptance | final best: search's val (seeds) | fresh-seed val (mean of {args.fresh_seeds}) | fresh-seed test (held out) |")
    print("| --- | --- | --- | --- |")
    for arm in ARMS:
        for r in rows[arm]:
            print(f"| {arm} s{r['seed']} | {r['search_val']:.4f} ({r['n']}) | {r['fresh_val']:.4f} | {r['fresh_test']:.4f} |")
    print("\n| acceptance | fresh-seed val of final configs, mean ± sd over searches | test | accepted proposals | false accepts |")
    print("| --- | --- | --- | --- | --- |")
    for arm in ARMS:
        fv = [r["fresh_val"] for r in rows[arm]]
        ft = [r["fresh_test"] for r in rows[arm]]
        a = audits[arm]
        fa = sum(x["false_accept"] for x in a)
        print(f"| {arm} | {mean(fv):.4f} ± {sd(fv):.4f} | {mean(ft):.4f} ± {sd(ft):.4f} | {len(a)} | {fa} |")
    (out / "summary.json").write_text(json.dumps({"noise": vals, "rows": rows, "audits": audits, "wall_min": wall}, indent=1))
    print(f"\nwrote {out / 'summary.json'}")


if __name__ == "__main__":
    main()
