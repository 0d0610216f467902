"""Model-quality benchmark on the users' task (ETTh1, MS, OT, 336 -> 96), issue 17.

Arms, each from the same CPU-sized Informer (bench/search_config.py at 336/24/96) on the bench
search space plus nas_system/search_space.json's family recipes:
- "default": the search as a user runs it (`nas-graph run`, portfolio on), rules-only evaluator;
- "portfolio-off": the same with `--portfolio off`;
- "plain-optuna": Optuna as a peer outside our loop: optuna.create_study with TPE on the same
  search space (define-by-run, nas_agent.suggest.sample_point), one seed per trial, each trial's
  config written by the AST helper (config_edit.apply_changes) and trained by train.py; a failed
  training is a FAIL trial.
Per arm: the best val_mse after each training (mean over search seeds); the final config retrained
on fresh seeds (val and held-out test MSE, mean ± sd); the ensemble's val/test from
`nas-graph ensemble --json` (searches of our loop only); persistence on the task.

    npm run build && NAS_DATA_DIR=../shared/data/ETT-small .venv/bin/python bench/quality.py \
        [--iterations 20] [--seeds 3] [--baseline-seeds N] [--max-epochs 10] [--fresh-seeds 3] [--jobs 1]
        [--run-timeout S] [--arms default,portfolio-off,plain-optuna] [--parallel K] [--deadline S] [--users]

On a GPU machine, bench/device_quality.sh runs it from the users' own config.py (--users).

The defaults are the issue's full settings; on a 2-core CPU scale them down (and say so).
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
from search_families import FAMILY_KEY, fresh_seeds, users_task_config  # noqa: E402

ARMS = ("default", "portfolio-off", "plain-optuna")


def bench_space() -> dict:
    """bench/search_space.json with the published recipes of nas_system/search_space.json."""
    space = json.loads((BENCH / "search_space.json").read_text())
    recipes = json.loads((ROOT / "nas_system" / "search_space.json").read_text()).get("recipes", {})
    space["recipes"] = {f: r for f, r in recipes.items() if f in space["params"][FAMILY_KEY]["choices"]}
    for recipe in space["recipes"].values():  # the bench space's domains widened to hold each recipe's values
        for key, value in recipe["values"].items():
            spec = space["params"].get(key)
            if spec is None:
                continue
            if spec.get("choices") is not None and value not in spec["choices"]:
                spec["choices"] = sorted(spec["choices"] + [value]) if not isinstance(value, str) else spec["choices"] + [value]
            elif "low" in spec and isinstance(value, (int, float)) and not isinstance(value, bool):
                spec["low"], spec["high"] = min(spec["low"], value), max(spec["high"], value)
    return space


def our_search(ws: Path, arm: str, seed: int, iterations: int, max_epochs: int, log, env: dict,
               baseline_seeds: int | None = None, run_timeout: int | None = None, parallel: int = 1) -> dict:
    cmd = ["node", str(ROOT / "dist" / "cli.js"), "run", "--system-dir", str(ws), "--planner", "optuna",
           "--evaluator", "rules", "--max-iterations", str(iterations), "--seed", str(seed),
           "--max-epochs", str(max_epochs), "--portfolio", "off" if arm == "portfolio-off" else "on", "--json"]
    if baseline_seeds is not None:
        cmd += ["--baseline-seeds", str(baseline_seeds)]
    if run_timeout is not None:
        cmd += ["--run-timeout", str(run_timeout)]
    if parallel > 1:
        cmd += ["--parallel", str(parallel)]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=log, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"search in {ws.name} failed (exit {proc.returncode}); see {log.name}")
    ens = subprocess.run(["node", str(ROOT / "dist" / "cli.js"), "ensemble", "--system-dir", str(ws), "--json"],
                         stdout=subprocess.PIPE, stderr=log, text=True, env=env)
    if ens.returncode != 0:
        return {}
    data = json.loads(ens.stdout)
    e = data.get("ensemble", data)
    return {"val": e.get("val_mse"), "test": e.get("test_mse"), "n": len(e.get("members", []))}


def plain_optuna(ws: Path, seed: int, iterations: int, max_epochs: int, log, env: dict,
                 run_timeout: int | None = None, parallel: int = 1) -> list[float]:
    """Plain TPE outside our loop, `parallel` trials in flight (ask K, train K at once, tell K: what
    Optuna's n_jobs does); writes agent_state.json-like best run info for fresh_seeds."""
    sys.path.insert(0, str(ws))
    import optuna
    from nas_agent.config_edit import ConfigEditError, apply_changes
    from nas_agent.search_space import load_space
    from nas_agent.suggest import sample_point

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    space = load_space(ws / "search_space.json")
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True))
    curve, best, runs = [], float("inf"), []

    def train(tag: str, config: Path) -> float | None:
        try:
            proc = subprocess.run([sys.executable, "-u", "train.py", "--config", str(config), "--tag", tag, "--seed", str(seed),
                                   "--max-epochs", str(max_epochs)], cwd=ws, env=env, stdout=log, stderr=log, text=True,
                                  timeout=run_timeout)
        except subprocess.TimeoutExpired:  # as our loop's --run-timeout: a failed trial
            print(f"{tag}: timed out after {run_timeout} s", file=log, flush=True)
            return None
        metrics = ws / "runs" / tag / "metrics.json"
        return json.loads(metrics.read_text()).get("val_mse") if proc.returncode == 0 and metrics.is_file() else None

    i = 0
    while i < iterations:
        batch = []  # (tag, trial, point, config)
        for _ in range(1 if i == 0 else min(parallel, iterations - i)):
            tag = f"run_{i:04d}"
            config = ws / f"config_{tag}.py"
            i += 1
            if tag == "run_0000":  # the same starting point as our loop's baseline
                config.write_text((ws / "config.py").read_text())
                batch.append((tag, None, {}, config))
                continue
            trial = study.ask()
            point = sample_point(trial, space)
            try:
                apply_changes(config, [{"key": k, "value": v} for k, v in point.items()], space, base_path=ws / "config.py")
            except ConfigEditError as exc:
                print(f"{tag}: invalid config ({exc})", file=log, flush=True)
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                batch.append((tag, None, None, None))
                continue
            batch.append((tag, trial, point, config))
        todo = [b for b in batch if b[3] is not None]
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(todo))) as pool:
            vals = dict(zip([b[0] for b in todo], pool.map(lambda b: train(b[0], b[3]), todo)))
        for tag, trial, point, _ in batch:
            val = vals.get(tag)
            if trial is not None:
                study.tell(trial, val) if val is not None else study.tell(trial, state=optuna.trial.TrialState.FAIL)
            if val is not None:
                runs.append({"run_id": tag, "val_mse": val, "params": point})
                best = min(best, val)
            curve.append(best)
    top = min(runs, key=lambda r: r["val_mse"])
    (ws / "agent_state.json").write_text(json.dumps({"best_run_id": top["run_id"], "runs": runs}))
    return curve


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=20, help="trainings per search (the baseline included)")
    ap.add_argument("--seeds", type=int, default=3, help="search seeds per arm")
    ap.add_argument("--max-epochs", type=int, default=10, help="epoch cap of every training")
    ap.add_argument("--fresh-seeds", type=int, default=3, help="fresh seeds the final config is retrained on")
    ap.add_argument("--baseline-seeds", type=int, default=None, help="our loop's baseline seeds (default: the CLI's)")
    ap.add_argument("--run-timeout", type=int, default=None,
                    help="seconds before a training of a search is stopped (our loop's --run-timeout; plain Optuna: a FAIL trial)")
    ap.add_argument("--start-family", default=None,
                    help="start from the CPU-sized config switched to this family at its recipe (the AST helper); "
                         "default: the CPU-sized Informer")
    ap.add_argument("--start-epochs", type=int, default=None,
                    help="training.max_epochs of the CPU-sized start config, which is the search's fidelity "
                         "(default: bench/search_config.py's 3; 10 is the linear families' recipe epochs)")
    ap.add_argument("--users", action="store_true",
                    help="start from the users' own nas_system/config.py on its own search space (on a GPU machine)")
    ap.add_argument("--deadline", type=float, default=None,
                    help="seconds after which the summary covers the searches finished so far and the script exits")
    ap.add_argument("--arms", default=",".join(ARMS))
    ap.add_argument("--jobs", type=int, default=1, help="searches at once (one torch thread each when > 1)")
    ap.add_argument("--parallel", type=int, default=1,
                    help="our loop's --parallel K (trainings in flight per search); fresh seeds then train K at once")
    ap.add_argument("--out", default=str(BENCH / "results"))
    args = ap.parse_args()
    if not (ROOT / "dist" / "cli.js").exists():
        raise SystemExit("dist/cli.js is missing: run `npm run build` first")
    arms = args.arms.split(",")
    unknown = [a for a in arms if a not in ARMS]
    if unknown:
        raise SystemExit(f"unknown arm {unknown[0]!r}; use {', '.join(ARMS)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if args.jobs > 1:
        env.setdefault("OMP_NUM_THREADS", "1")
    space = json.loads((ROOT / "nas_system" / "search_space.json").read_text()) if args.users else bench_space()
    start_text = (ROOT / "nas_system" / "config.py").read_text() if args.users else users_task_config()
    if args.start_epochs is not None:
        if args.users:
            raise SystemExit("--start-epochs applies to the CPU-sized start config; --users keeps the users' own epochs")
        start_text, n = re.subn(r'"max_epochs": \d+', f'"max_epochs": {args.start_epochs}', start_text)
        if n != 1:
            raise SystemExit("--start-epochs: bench/search_config.py has no single \"max_epochs\": N entry")
    begun = time.perf_counter()
    results: dict[tuple[str, int], dict] = {}
    naive: dict | None = None
    with tempfile.TemporaryDirectory(prefix="nas-quality-") as tmp:

        def one(job: tuple[str, int]) -> None:
            nonlocal naive
            arm, seed = job
            ws = make_workspace(Path(tmp), f"{arm}-{seed}", start_text, space)
            if args.start_family:
                switch = subprocess.run([sys.executable, "-c", "import sys; from nas_agent.config_edit import apply_changes; "
                                         "from nas_agent.search_space import load_space; apply_changes('config.py', "
                                         "[{'key': 'model.family', 'value': sys.argv[1]}], load_space('search_space.json'))",
                                         args.start_family], cwd=ws, capture_output=True, text=True)
                if switch.returncode != 0:
                    raise SystemExit(f"--start-family {args.start_family}: {switch.stderr.strip().splitlines()[-1]}")
            started = time.perf_counter()
            with open(out / f"quality-{arm}-{seed}.log", "w") as log:
                if arm == "plain-optuna":
                    curve, ens = plain_optuna(ws, seed, args.iterations, args.max_epochs, log, env, args.run_timeout,
                                             args.parallel), {}
                else:
                    ens = our_search(ws, arm, seed, args.iterations, args.max_epochs, log, env, args.baseline_seeds,
                                     args.run_timeout, args.parallel)
                    curve, _ = best_so_far(ws, args.iterations)
                    naive = naive or next(iter(json.loads((ws / "agent_state.json").read_text()).get("baselines", {}).values()), None)
            vals, tests, params = fresh_seeds(ws, args.fresh_seeds, args.max_epochs, env, args.parallel)
            params = {FAMILY_KEY: args.start_family or "informer", **params}  # the start config's point is {}
            results[job] = {"curve": curve, "vals": vals, "tests": tests, "params": params, "ensemble": ens,
                            "wall": time.perf_counter() - started}
            print(f"{arm:>13} seed {seed}: best val {curve[-1]:.4f}; final config ({params.get(FAMILY_KEY, 'informer')}) "
                  f"fresh seeds val {statistics.fmean(vals):.4f} test {statistics.fmean(tests):.4f} "
                  f"(each: val {' '.join(f'{v:.4f}' for v in vals)}; test {' '.join(f'{t:.4f}' for t in tests)})"
                  + (f"; ensemble val {ens['val']:.4f} test {ens['test']:.4f}" if ens.get("val") is not None else "")
                  + f" ({results[job]['wall'] / 60:.1f} min)", flush=True)
            with open(out / "quality-results.jsonl", "a") as f:
                f.write(json.dumps({"arm": arm, "seed": seed, **results[job]}) + "\n")

        pool = concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs)
        futures = [pool.submit(one, (arm, s)) for s in range(args.seeds) for arm in arms]
        left = None if args.deadline is None else max(1.0, args.deadline - (time.perf_counter() - begun))
        done, pending = concurrent.futures.wait(futures, timeout=left)
        for f in done:
            if f.exception() is not None:
                print(f"a search failed: {f.exception()}", flush=True)
        if pending:
            print(f"deadline: {len(pending)} search(es) unfinished after {args.deadline:.0f} s; the summary covers the rest",
                  flush=True)
        summarise(args, arms, results, naive)
        sys.stdout.flush()
        os._exit(0)  # unfinished searches (past the deadline) are abandoned, their trainings with them


def summarise(args, arms: list[str], results: dict, naive: dict | None) -> None:
    if args.users:
        start = "the users' own config.py (Informer) on nas_system/search_space.json"
    elif args.start_family:
        start = f"the CPU-sized config switched to {args.start_family} at its recipe"
    else:
        start = "a CPU-sized Informer"
    if args.start_epochs is not None:
        start += f" at {args.start_epochs} epochs (the search's fidelity)"
    lines = [f"ETTh1 MS OT 336->96 from {start}; {args.iterations} trainings per search"
             + (f" ({args.parallel} in flight)" if args.parallel > 1 else "") + f", <= {args.max_epochs} epochs each" + (f" (run timeout {args.run_timeout} s)" if args.run_timeout else "")
             + f", {args.seeds} search seed(s), final config on {args.fresh_seeds} fresh seed(s)"
             + (f" (finished searches: {len(results)} of {len(arms) * args.seeds})" if len(results) < len(arms) * args.seeds else "")]
    if naive:
        lines.append(f"persistence: val {naive['persistence']['val_mse']:.4f} / test {naive['persistence']['test_mse']:.4f}")
    lines += ["| arm | best val after each training (mean over seeds) | final config: fresh-seed val | fresh-seed test (held out) | ensemble val / test | final families |",
              "| --- | --- | --- | --- | --- | --- |"]
    for arm in arms:
        runs = [results[(arm, s)] for s in range(args.seeds) if (arm, s) in results]
        if not runs:
            lines.append(f"| {arm} | (no search finished) | | | | |")
            continue
        n = min(len(r["curve"]) for r in runs)
        curve = [statistics.fmean(r["curve"][i] for r in runs) for i in range(n)]
        vm, vs = mean_std([statistics.fmean(r["vals"]) for r in runs])
        tm, ts = mean_std([statistics.fmean(r["tests"]) for r in runs])
        ens = [r["ensemble"] for r in runs if r["ensemble"].get("val") is not None]
        ens_s = (f"{statistics.fmean(e['val'] for e in ens):.4f} / {statistics.fmean(e['test'] for e in ens):.4f}" if ens else "n/a")
        fams = ", ".join(str(r["params"].get(FAMILY_KEY, "informer")) for r in runs)
        lines.append(f"| {arm} ({len(runs)} search(es)) | {' '.join(f'{v:.4f}' for v in curve)} | {vm:.4f} ± {vs:.4f} | {tm:.4f} ± {ts:.4f} | {ens_s} | {fams} |")
    print("\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
