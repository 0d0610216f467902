"""``python -m nas_agent --system-dir DIR <command>``: the JSON interface TypeScript calls.

Every command prints exactly one JSON object on stdout. Exit 0 with ``{"ok": true, ...}``;
exit 2 with ``{"ok": false, "error": "<one line>", "errors"?: [...]}`` for anything the user
or the LLM got wrong; exit 1 with the same shape for an internal bug. Heavy packages (optuna,
matplotlib) are imported lazily, by the commands that need them.

``python -m nas_agent serve`` is the same commands as a long-lived helper: one JSON request
per line on stdin, ``{"id": n, "argv": [...]}`` (argv as for the one-shot CLI), one answer
per line on stdout, in order, ``{"id": n, "exit": code, "result": {...}}``; it ends at EOF.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import sys
from pathlib import Path
from typing import Any

from . import agent_state as st
from . import baselines as naive
from . import ensemble
from . import standing
from . import fidelity as fid
from . import rebuild as rb
from .config_edit import ConfigEditError, apply_changes, literal_at, read_values, restore
from .config_check import DEFAULT_FAMILY
from .config_id import config_id
from .curve import MAX_RISE_PCT, curve_view
from .history_summary import build_history_summary
from .search_space import SpaceError, load_space, resolve_space_path

RUN_ID_RE = re.compile(r"^run_(\d+)$")
SAFE_ID_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


class CliError(ValueError):
    """A user-facing error of the CLI (bad argument, unknown run, ...)."""

    def __init__(self, message: str, errors: list[str] | None = None):
        super().__init__(message)
        self.errors = errors


USER_ERRORS = (CliError, SpaceError, ConfigEditError, st.AgentStateError, fid.FidelityError, naive.BaselineError,
               ensemble.EnsembleError, ensemble.PredictionsError, rb.RebuildError, standing.FidelityChoiceError)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse would print usage and exit 2 on stderr
        raise CliError(f"{message} (try: python -m nas_agent --help)")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m nas_agent", description=__doc__.splitlines()[0])
    p.add_argument("--system-dir", default="./nas_system", help="workspace with config.py and runs/")
    p.add_argument("--space", help="search space JSON (default: DIR/search_space.json, else the installed one)")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("space", help="resolve and validate the search space")
    g = sub.add_parser("config-get", help="read search-space values from a config (AST only)")
    g.add_argument("--config")
    a = sub.add_parser("config-apply", help="validate and write changes to config.py")
    a.add_argument("--changes", required=True, help='JSON list [{"key": ..., "value": ...}]')
    a.add_argument("--base", help="config to start from (default: --config)")
    a.add_argument("--config")
    a.add_argument("--dry-run", action="store_true")
    a.add_argument("--with-text", action="store_true", help="also return the resulting file's text (a trial writes it as is)")
    i = sub.add_parser("config-id", help="identity of a config by value (literals minus the seed)")
    i.add_argument("--config")
    r = sub.add_parser("config-restore", help="atomically copy a config snapshot onto config.py")
    r.add_argument("--from", dest="from_path", required=True)
    r.add_argument("--config")
    n = sub.add_parser("next-run-id", help="the next free run_XXXX id (or --count consecutive ones)")
    n.add_argument("--count", type=int, default=1)
    b = sub.add_parser("begin-search", help="set the current fidelity from a config; report its incumbent and noise")
    b.add_argument("--config")
    b.add_argument("--max-epochs-cap", type=int, default=None)
    b.add_argument("--reserve", type=int, default=1, help="how many next free run ids to return (the first round's)")
    b.add_argument("--preflight", action="store_true", help="first the pre-flight checks (as preflight); on a failure nothing is written")
    b.add_argument("--python", help="with --preflight: the interpreter that runs train.py --check (the trainings')")
    pf = sub.add_parser("preflight", help="before a search records anything: packages, search space, config, train.py --check")
    pf.add_argument("--python", help="the interpreter that runs train.py --check (the trainings'); none: not run")
    pf.add_argument("--parse-config", action="store_true", help="also check that config.py parses")
    sub.add_parser("check-env", help="does this interpreter have the packages nas_system needs?")
    sd = sub.add_parser("standing", help="one fidelity's view: its incumbent, each run's verdict label, persistence on its task")
    sd.add_argument("--fidelity", help="a recorded fidelity key or an epoch cap N (default: the current fidelity)")
    pr = sub.add_parser("promising", help="promising, unconfirmed configs of the current fidelity that may get another seed")
    pr.add_argument("--max-repeats", type=int, required=True, help="the search's --max-repeats")
    rec = sub.add_parser("record-run", help="record a run in agent_state.json")
    rec.add_argument("--run-id", required=True)
    rec.add_argument("--info", default="{}", help="JSON object of decision fields")
    rec.add_argument("--max-rise", type=float, default=MAX_RISE_PCT, help="overfitting: val_mse rose more than this %% after its best epoch")
    s = sub.add_parser("set-accept", help="manually accept or reject a run")
    s.add_argument("--run-id", required=True)
    grp = s.add_mutually_exclusive_group(required=True)
    grp.add_argument("--accept", action="store_true")
    grp.add_argument("--reject", action="store_true")
    s.add_argument("--reason")
    s.add_argument("--follow", action="store_true", help="then put config.py on the incumbent and sync the study")
    s.add_argument("--fallback", help="with --follow: config restored when no incumbent is left")
    rr = sub.add_parser("record-runs", help="record a round's runs in one request (record-run each, in order)")
    rr.add_argument("--runs", required=True, help='JSON list [{"run_id": ..., "info": {...}}]')
    rr.add_argument("--max-rise", type=float, default=MAX_RISE_PCT, help="overfitting: val_mse rose more than this %% after its best epoch")
    fr = sub.add_parser("finish-round", help="record a round's verdicts, put config.py on the incumbent, sync the study")
    fr.add_argument("--runs", required=True, help='JSON list [{"run_id": ..., "info": {...}}]')
    fr.add_argument("--max-rise", type=float, default=MAX_RISE_PCT, help="overfitting: val_mse rose more than this %% after its best epoch")
    fr.add_argument("--known-best", default="", help="the incumbent's run id the caller knows ('' for none)")
    fr.add_argument("--fallback", help="config restored when no incumbent is left (the search's start snapshot)")
    fr.add_argument("--reserve", type=int, default=1, help="how many next free run ids to return (the next round's)")
    fr.add_argument("--close", action="store_true", help="the search's last round: also its standing and its ensemble (closing)")
    m = sub.add_parser("summarize", help="history summary of a run")
    m.add_argument("--run-id", required=True)
    m.add_argument("--max-rise", type=float, default=MAX_RISE_PCT, help="overfitting: val_mse rose more than this %% after its best epoch")
    b = sub.add_parser("baselines", help="naive baselines (persistence, seasonal naive) of a config's task")
    b.add_argument("--config", help="config whose task is scored (default: DIR/config.py)")
    b.add_argument("--no-store", action="store_true", help="compute a missing entry without saving it")
    b.add_argument("--recompute", action="store_true", help="recompute even when agent_state.json has it")
    q = sub.add_parser("suggest", help="Optuna suggestion from the full history")
    q.add_argument("--sampler", choices=["tpe", "random"], default="tpe")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--count", type=int, default=1, help="proposals at once (a batch of --parallel K)")
    q.add_argument("--render-base", help="also render each proposal's config: these changes on this file (its text and diff)")
    sub.add_parser("serve", help="answer JSON-line requests on stdin until EOF (one long-lived helper)")
    sub.add_parser("study", help="write (or rebuild) the Optuna study .nas-graph/optuna.db from agent_state.json")
    rp = sub.add_parser("report", help="write runs/report.html and runs/report.md")
    rp.add_argument("--decisions", help="decision log (default: DIR/.nas-graph/decisions.jsonl)")
    rp.add_argument("--target", type=float, help="target val_mse line")
    rp.add_argument("--fidelity", help="the fidelity shown: a recorded key or an epoch cap N (default: the current one)")
    e = sub.add_parser("ensemble", help="greedy ensemble selection on val over the current fidelity's runs; record it")
    e.add_argument("--steps", type=int, default=None, help="most additions (default 50; stops earlier without a gain)")
    e.add_argument("--forecast-csv", help="write the ensemble's test forecast here as CSV (original units)")
    rs = sub.add_parser("rebuild-state", help="reconstruct agent_state.json from runs/*/ and the decision log")
    rs.add_argument("--force", action="store_true", help="rebuild even when agent_state.json is readable (it is moved aside)")
    return p


class Workspace:
    """Paths of one workspace (``--system-dir``)."""

    def __init__(self, args: argparse.Namespace):
        self.dir = Path(args.system_dir)
        if not self.dir.is_dir():
            raise CliError(f"system dir {self.dir} does not exist: pass --system-dir pointing at your nas_system folder")
        self.space_override = args.space
        self.state_path = self.dir / "agent_state.json"
        self.runs_dir = self.dir / "runs"

    def space(self):
        return load_space(resolve_space_path(self.dir, self.space_override))

    def config(self, override: str | None) -> Path:
        return Path(override) if override else self.dir / "config.py"

    def run_dir(self, run_id: str) -> Path:
        if not SAFE_ID_RE.match(run_id):
            raise CliError(f"bad run id {run_id!r}: use the form run_0001")
        return self.runs_dir / run_id


def _json_arg(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"{what} is not valid JSON ({exc.msg} at char {exc.pos}): pass a JSON string") from None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CliError(f"{path} is unreadable ({exc}): the run's files are damaged; re-run it or record it as failed") from None
    if not isinstance(data, dict):
        raise CliError(f"{path} is not a JSON object: the run's files are damaged")
    return data


# ---- commands -----------------------------------------------------------------------------

def cmd_space(ws: Workspace, args) -> dict:
    path = resolve_space_path(ws.dir, ws.space_override)
    return {"path": str(path), "space": load_space(path).raw}


def cmd_config_get(ws: Workspace, args) -> dict:
    got = read_values(ws.config(args.config), ws.space())
    out = {"values": got.values, "missing": got.missing, "inactive": got.inactive}
    if got.unreadable:
        out["unreadable"] = got.unreadable
    return out


def cmd_config_apply(ws: Workspace, args) -> dict:
    changes = _json_arg(args.changes, "--changes")
    return apply_changes(ws.config(args.config), changes, ws.space(), base_path=args.base, dry_run=args.dry_run,
                         with_text=args.with_text)


def cmd_config_id(ws: Workspace, args) -> dict:
    return {"config_id": config_id(ws.config(args.config))}


def cmd_config_restore(ws: Workspace, args) -> dict:
    target = ws.config(args.config)
    restore(args.from_path, target)
    if _is_workspace_config(ws, target):
        state = st.load_agent_state(ws.state_path)
        _note_written(state, target, args.from_path)
        st.save_agent_state(state, ws.state_path)
    return {"restored_from": str(args.from_path)}


def _is_workspace_config(ws: Workspace, path: Path) -> bool:
    return path.resolve() == (ws.dir / "config.py").resolve()


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _note_written(state: st.AgentState, config: Path, source) -> None:
    """Remember what the tool itself put into config.py (agent_state.json ``config_written``):
    a later search that finds these bytes there knows no user edited the file."""
    state.extra["config_written"] = {"sha256": _sha256(config), "from": str(source), "at": st._now()}


def _tool_wrote(state: st.AgentState, config: Path) -> bool:
    written = state.extra.get("config_written")
    return isinstance(written, dict) and written.get("sha256") is not None and written.get("sha256") == _sha256(config)


def cmd_preflight(ws: Workspace, args) -> dict:
    return {"preflight": _preflight(ws, args.python, args.parse_config)}


def _preflight(ws: Workspace, python: str | None, parse_config: bool) -> dict:
    from .preflight import preflight

    return preflight(ws.dir, ws.space_override, ws.config(None), python=python, parse_config=parse_config)


def cmd_check_env(ws: Workspace, args) -> dict:
    from .env_check import check_env

    return check_env()


def cmd_next_run_id(ws: Workspace, args) -> dict:
    ids = next_run_ids(ws, st.load_agent_state(ws.state_path), args.count, "--count")
    return {"run_id": ids[0], "run_ids": ids}


def next_run_ids(ws: Workspace, state: st.AgentState, count: int, flag: str) -> list[str]:
    """``count`` consecutive free run ids: 1 + the largest over agent_state's runs and runs/run_* dirs."""
    nums = [int(m.group(1)) for r in state.runs if (m := RUN_ID_RE.match(r.run_id))]
    if ws.runs_dir.is_dir():
        nums += [int(m.group(1)) for p in ws.runs_dir.iterdir() if (m := RUN_ID_RE.match(p.name))]
    # a trial of any search that reached its executor: its job record (a Slurm job may still be
    # PENDING, with no run dir yet) or its attempt record; a new search never reuses its id
    for sub in ("jobs", "attempts"):
        meta = ws.dir / ".nas-graph" / sub
        if meta.is_dir():
            nums += [int(m.group(1)) for p in meta.glob("run_*.json") if (m := RUN_ID_RE.match(p.stem))]
    if count < 1:
        raise CliError(f"{flag} must be >= 1, got {count}")
    first = max(nums) + 1 if nums else 0
    return [f"run_{i:04d}" for i in range(first, first + count)]


def cmd_record_run(ws: Workspace, args) -> dict:
    info = _json_arg(args.info, "--info")
    state = st.load_agent_state(ws.state_path)
    previous = state.best_run_id
    out = _record(ws, state, args.run_id, info, "--info", args.max_rise)
    st.save_agent_state(state, ws.state_path)
    return {**out, "previous_best_run_id": previous}


def _record(ws: Workspace, state: st.AgentState, run_id: str, info: Any, flag: str, max_rise: float) -> dict:
    """Record one run into ``state`` (the caller saves it): record-run's answer, less previous_best_run_id."""
    if not isinstance(info, dict):
        raise CliError(f"{flag} must be a JSON object")
    run = build_run(ws, run_id, info, state.find(run_id), state.fidelity, max_rise)
    st.add_run(state, run)
    if "accepted" in info:  # a verdict is about the config: every seed of it follows
        st.set_config_accepted(state, run, bool(run.accepted))
    out = {"run": run.to_dict(), "best_run_id": state.best_run_id, "curve": _curve(ws.run_dir(run_id), max_rise)}
    used = ws.run_dir(run_id) / "config_used.py"
    if used.is_file():  # the run's task gets its naive baselines once; a data problem never loses the run
        try:
            ensure_baselines(ws, state, used)
        except naive.BaselineError as exc:
            out["baselines_error"] = str(exc)
    # the naive baselines of the run's task (persistence: a model worse than it is not useful)
    task_baselines = state.baselines.get(fid.task_key(run.task)) if run.task else None
    return {**out, **_standing(state, run.run_id), "baselines": task_baselines}


def _round_runs(ws: Workspace, text: str) -> tuple[st.AgentState, list[dict]]:
    """--runs of record-runs / finish-round, checked: the state and [{run_id, info}]."""
    runs = _json_arg(text, "--runs")
    if not isinstance(runs, list) or not all(isinstance(r, dict) and isinstance(r.get("run_id"), str) for r in runs):
        raise CliError('--runs must be a JSON list of {"run_id": ..., "info": {...}}')
    return st.load_agent_state(ws.state_path), runs


def _record_all(ws: Workspace, state: st.AgentState, runs: list[dict], max_rise: float) -> list[dict]:
    """Record each run in order (each answer sees the runs before it) and save the state once;
    a run that cannot be recorded stops there, the runs before it stay recorded."""
    records: list[dict] = []
    try:
        for r in runs:
            records.append(_record(ws, state, r["run_id"], r.get("info", {}), "--runs info", max_rise))
    finally:
        if records:
            st.save_agent_state(state, ws.state_path)
    return records


def cmd_record_runs(ws: Workspace, args) -> dict:
    """A round's runs, recorded in order as record-run would, in one request."""
    state, runs = _round_runs(ws, args.runs)
    previous = state.best_run_id
    records = _record_all(ws, state, runs, args.max_rise)
    return {"records": records, "best_run_id": state.best_run_id, "previous_best_run_id": previous,
            "n_runs": len(state.runs)}


def cmd_finish_round(ws: Workspace, args) -> dict:
    """The end of a round in one request: record the verdicts, put config.py on the incumbent when
    it changed (from what the caller knows), bring the Optuna study up to date (a failure is
    returned as study_error, never fatal), and reserve the next round's run ids."""
    state, runs = _round_runs(ws, args.runs)
    previous = state.best_run_id
    records = _record_all(ws, state, runs, args.max_rise)
    known = args.known_best or None
    follow = follow_incumbent(ws, state.best_run_id, args.fallback) if runs and state.best_run_id != known else {}
    out = {"records": records, "best_run_id": state.best_run_id, "previous_best_run_id": previous,
           "n_runs": len(state.runs), **follow, **_sync_study(ws),
           "next_run_ids": next_run_ids(ws, state, args.reserve, "--reserve")}
    return {**out, "closing": _closing(ws)} if args.close else out


def _closing(ws: Workspace) -> dict:
    """The end of a search, in its last round's request: the standing (as ``standing``) and the
    ensemble selected and recorded (as ``ensemble``); an ensemble that cannot be built is
    ``ensemble_error`` (one line), never a failed round."""
    out: dict[str, Any] = {"standing": standing.summary(st.load_agent_state(ws.state_path), None)}
    try:
        out["ensemble"] = ensemble.build(ws.dir, ws.state_path, ensemble.DEFAULT_STEPS, None)
    except USER_ERRORS as exc:
        out["ensemble_error"] = _one_line(str(exc))
    except Exception as exc:  # noqa: BLE001 - the round is recorded; the ensemble is a bonus
        out["ensemble_error"] = _one_line(f"internal error in nas_agent ({type(exc).__name__}: {exc}); please report it")
    return out


def follow_incumbent(ws: Workspace, best_run_id: str | None, fallback: str | None) -> dict:
    """config.py follows the incumbent: its run's config_used.py, else (no incumbent left) the
    fallback snapshot; neither there: config.py is left as is and a warning says so."""
    source = ws.run_dir(best_run_id) / "config_used.py" if best_run_id else Path(fallback) if fallback else None
    if source is None or not source.is_file():
        return {"config_restored_from": None, "restore_warning": "no incumbent config to restore; config.py left as is"}
    target = ws.config(None)
    restore(source, target)
    state = st.load_agent_state(ws.state_path)  # what the tool wrote there: no user edit (begin-search)
    _note_written(state, target, source)
    st.save_agent_state(state, ws.state_path)
    return {"config_restored_from": str(source)}


def _sync_study(ws: Workspace) -> dict:
    """The study sync of a round or an override: ``{study}`` or ``{study_error}`` (agent_state.json stays the truth)."""
    try:
        return {"study": cmd_study(ws, None)}
    except USER_ERRORS as exc:
        return {"study_error": _one_line(str(exc))}
    except ModuleNotFoundError as exc:  # optuna missing: the search goes on without its mirror
        if str(exc.name or "").startswith("nas_agent"):
            raise
        return {"study_error": _missing_package(exc)}


def ensure_baselines(ws: Workspace, state: st.AgentState, config: Path, recompute: bool = False) -> tuple[str, dict, bool]:
    """(task key, entry, computed now): the naive baselines of ``config``'s task, computed into
    ``state.baselines`` when missing (the caller saves the state)."""
    key = naive.key_of(config)
    if key in state.baselines and not recompute:
        return key, state.baselines[key], False
    state.baselines[key] = naive.compute(config, ws.dir)
    return key, state.baselines[key], True


def cmd_baselines(ws: Workspace, args) -> dict:
    state = st.load_agent_state(ws.state_path)
    config = ws.config(args.config)
    key, entry, computed = ensure_baselines(ws, state, config, args.recompute)
    if computed and not args.no_store:
        st.save_agent_state(state, ws.state_path)
    return {"task_key": key, "baselines": entry, "computed": computed, "stored": computed and not args.no_store}


def _standing(state: st.AgentState, run_id: str | None = None) -> dict[str, Any]:
    """The run's config statistics, the incumbent's, and the noise at the current fidelity."""
    table, noise_by_fidelity = state.stats()
    config = state.config_of(run_id, table) if run_id else None
    incumbent = state.incumbent(table)
    current = state.current_fidelity()
    noise = noise_by_fidelity.get(current) if current else None
    return {"config": config.to_dict() if config else None,
            "incumbent": incumbent.to_dict() if incumbent else None, "noise": noise, "n_runs": len(state.runs)}


def _curve(run_dir: Path, max_rise: float) -> dict[str, Any] | None:
    """What the evaluator reads of the run's val curve (curve.py): None without a readable history."""
    history, metrics = run_dir / "history.json", run_dir / "metrics.json"
    if not (history.is_file() and metrics.is_file()):
        return None
    try:
        return curve_view(_read_json(history), _read_json(metrics), max_rise)
    except CliError:
        return None


def build_run(ws: Workspace, run_id: str, info: dict, existing: st.RunInfo | None,
              current_fidelity: str | None = None, max_rise: float = MAX_RISE_PCT) -> st.RunInfo:
    """Merge the existing entry, ``info`` and the run dir's files into one RunInfo."""
    run_dir = ws.run_dir(run_id)
    data = existing.to_dict() if existing else {"run_id": run_id}
    if info.get("kind") is not None and info["kind"] not in st.KINDS:
        raise CliError(f"--info kind {info['kind']!r} is not one of {', '.join(st.KINDS)}")
    if "config_changes" in info:
        try:
            info = {**info, "config_changes": st.changes_to_dict(info["config_changes"])}
        except st.AgentStateError as exc:
            raise CliError(f"--info: {exc}") from None
    data.update({k: v for k, v in info.items() if k != "run_id"})
    status = info.get("status") or (existing.status if existing else None)
    data.update(_run_files(run_dir, run_id, status, ws.space, max_rise))
    data.update(_identity(run_dir, data, info, current_fidelity))
    status = data.get("status")
    if status not in st.STATUSES:
        raise CliError(f"--info status {status!r} is not one of {', '.join(st.STATUSES)}")
    if "accepted" in data and not isinstance(data["accepted"], bool):
        raise CliError("--info accepted must be true or false")
    if data.get("accepted") and status != "ok":
        raise CliError(f"cannot accept {run_id}: its status is {status}")
    try:
        return st.RunInfo.from_dict(data)
    except (st.AgentStateError, TypeError) as exc:
        raise CliError(f"--info has bad fields for {run_id}: {exc}") from None


def _run_files(run_dir: Path, run_id: str, info_status: str | None, load_space_fn,
               max_rise: float = MAX_RISE_PCT) -> dict[str, Any]:
    """Fields read from metrics.json / failure.json, history.json and config_used.py.

    Only the outcome files are required; a damaged history or config snapshot is noted in
    the run (history_summary / params_error) so that a finished run is never lost."""
    out: dict[str, Any] = {}
    metrics_path, failure_path = run_dir / "metrics.json", run_dir / "failure.json"
    metrics: dict[str, Any] = {}
    if metrics_path.is_file():
        metrics = _read_json(metrics_path)
        for k in ("val_mse", "test_mse", "test_mae", "train_mse", "best_epoch", "epochs_run",
                  "val_mae", "max_epochs", "stopped_early", "train_time_s", "n_params", "device", "seed"):
            if k in metrics:
                out[k] = metrics[k]
        out["status"] = info_status or metrics.get("status", "ok")
        if out["status"] == "ok" and not _finite(metrics.get("val_mse")):
            raise CliError(f"{metrics_path} has no finite val_mse: record the run with status failed")
    elif failure_path.is_file():
        failure = _read_json(failure_path)
        status = failure.get("status", "failed")
        reason = str(failure.get("reason", "no reason given"))
        if failure.get("epoch") is not None:
            reason += f" (epoch {failure['epoch']})"
        out.update({"status": info_status if info_status and info_status != "ok" else status,
                    "error": reason, "val_mse": None, "test_mse": None})
    elif info_status and info_status != "ok":  # the caller knows the run failed before writing files
        out.update({"status": info_status, "val_mse": None, "test_mse": None})
    else:
        raise CliError(
            f"{run_dir} is incomplete (no metrics.json or failure.json): the training did not finish; "
            f"record it with --info '{{\"status\": \"failed\"}}' (or crashed/timeout/invalid)")
    if out["status"] == "ok" and not metrics:
        raise CliError(f"cannot record {run_id} as ok: {metrics_path} is missing")
    history_path = run_dir / "history.json"
    if history_path.is_file():
        try:
            out["history_summary"] = build_history_summary(_read_json(history_path), metrics, max_rise)
        except CliError as exc:
            out["history_summary"] = f"no diagnosis: {exc}"
    used = run_dir / "config_used.py"
    if used.is_file():
        try:
            got = read_values(used, load_space_fn())  # the keys that applied to this run's family
            out["params"] = {k: v for k, v in got.values.items() if k not in got.inactive}
        except (ConfigEditError, SpaceError) as exc:  # recorded, not fatal: the run itself finished
            out["params"], out["params_error"] = {}, str(exc)
    return out


def _identity(run_dir: Path, data: dict[str, Any], info: dict, current_fidelity: str | None) -> dict[str, Any]:
    """config_id, family, seed, task and fidelity of a run, read from its config_used.py and
    metrics (a run without a config snapshot keeps the search's fidelity and no config_id)."""
    used = run_dir / "config_used.py"
    out: dict[str, Any] = {"fidelity": data.get("fidelity") or info.get("fidelity") or current_fidelity}
    if "seed" in data and data["seed"] is not None:
        out["seed"] = data["seed"]
    if not used.is_file():
        return out
    try:
        out["config_id"] = config_id(used)
        out["family"] = _family(used)
        out["task"] = fid.config_task(used)
        if isinstance(data.get("max_epochs"), int):
            out["fidelity"] = fid.fidelity_key(out["task"], data["max_epochs"])
        elif info.get("max_epochs_cap") is not None or not data.get("fidelity"):
            out["fidelity"] = fid.fidelity_key(
                out["task"], fid.effective_epochs(fid.config_max_epochs(used), info.get("max_epochs_cap")))
        # else: a run without metrics (failed, timed out) re-recorded without the cap (the verdict's
        # record) keeps the fidelity it was first recorded at, under the search's --max-epochs
    except (ConfigEditError, fid.FidelityError) as exc:  # recorded, not fatal: the run itself finished
        out["identity_error"] = str(exc)
    return out


def _family(config_path: Path) -> str:
    value = literal_at(config_path, "model.family")
    return value if isinstance(value, str) else DEFAULT_FAMILY


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def cmd_begin_search(ws: Workspace, args) -> dict:
    """Make the config's fidelity the current one, and say whether the config must be trained
    as a baseline: when no incumbent exists at this fidelity, or config.py differs from it
    because the user changed it by hand (the search continues from the user's file, never over
    it). A config.py the tool itself wrote (the incumbent of a search at another fidelity,
    ``config_written``) is no user edit: it is put back on this fidelity's incumbent, which
    survives searches at other fidelities (``config_restored_from``). With ``--preflight`` the
    pre-flight checks come first (``preflight`` in the answer): on a failure nothing is written."""
    checks = {}
    if args.preflight:
        checks = {"preflight": _preflight(ws, args.python, True)}
        if not checks["preflight"]["ok"]:
            return {**checks, "begun": False}
    config = ws.config(args.config)
    task, key = fid.config_fidelity(config, args.max_epochs_cap)
    state = st.load_agent_state(ws.state_path)
    state.fidelity = key
    cid = config_id(config)
    incumbent = state.incumbent()
    restored = None
    if incumbent is None:
        why = "no accepted run at this fidelity yet"
    elif incumbent.config_id != cid:
        source = ws.run_dir(incumbent.root_run_id) / "config_used.py"
        if _is_workspace_config(ws, config) and _tool_wrote(state, config) and source.is_file():
            restore(source, config)
            _note_written(state, config, source)
            restored, cid, why = str(source), config_id(config), None
        else:
            why = f"config.py differs from the incumbent {incumbent.root_run_id}'s config"
    else:
        why = None
    st.save_agent_state(state, ws.state_path)
    return {"fidelity": key, "task": task, "task_key": fid.task_key(task), "config_id": cid,
            "seed": _start_seed(_seed(config), state.runs, cid, key),
            "baseline_needed": why is not None, "baseline_reason": why, "config_restored_from": restored,
            **_standing(state), "next_run_ids": next_run_ids(ws, state, args.reserve, "--reserve"), **checks, "begun": True}


def _start_seed(own: int | None, runs, cid: str, fidelity: str) -> int | None:
    """The baseline's first seed: the config's own, unless this config (same id and fidelity)
    already trained some seed, then one past the largest it used. A config never gets a seed it
    already has: CPU training is deterministic, so a reused seed would enter the noise pool as an
    independent one and shrink the standard error."""
    used = [r.seed for r in runs if r.config_id == cid and r.fidelity == fidelity
            and isinstance(r.seed, int) and not isinstance(r.seed, bool)]
    if not used:
        return own
    return max(max(used) + 1, own if own is not None else 0)


def _seed(config_path: Path) -> int | None:
    """The config's own top-level seed (repeats train seed + 1, seed + 2, ...)."""
    value = literal_at(config_path, "seed")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def cmd_standing(ws: Workspace, args) -> dict:
    return standing.summary(st.load_agent_state(ws.state_path), args.fidelity)


def cmd_promising(ws: Workspace, args) -> dict:
    """What a larger budget can confirm (resume --max-iterations): standing.confirmable."""
    state = st.load_agent_state(ws.state_path)
    table, _ = state.stats()
    return {"fidelity": state.current_fidelity(), "configs": standing.confirmable(state, table, args.max_repeats)}


def cmd_set_accept(ws: Workspace, args) -> dict:
    state = st.load_agent_state(ws.state_path)
    previous = state.best_run_id
    run = st.set_accepted(state, args.run_id, bool(args.accept), args.reason)
    st.save_agent_state(state, ws.state_path)
    out = {"run": run.to_dict(), "best_run_id": state.best_run_id, "previous_best_run_id": previous}
    if not args.follow:
        return out
    follow = follow_incumbent(ws, state.best_run_id, args.fallback) if state.best_run_id != previous else {"config_restored_from": None}
    return {**out, **follow, **_sync_study(ws)}


def cmd_summarize(ws: Workspace, args) -> dict:
    run_dir = ws.run_dir(args.run_id)
    history = run_dir / "history.json"
    if history.is_file():
        metrics_path = run_dir / "metrics.json"
        metrics = _read_json(metrics_path) if metrics_path.is_file() else None
        return {"summary": build_history_summary(_read_json(history), metrics, args.max_rise)}
    run = st.load_agent_state(ws.state_path).find(args.run_id)
    if run is not None and run.history_summary:
        return {"summary": run.history_summary}
    if run is None and not run_dir.is_dir():
        raise CliError(f"unknown run id {args.run_id}: no {run_dir} and no entry in agent_state.json")
    raise CliError(f"{history} is missing: run {args.run_id} has no learning curve to summarize")


def cmd_suggest(ws: Workspace, args) -> dict:
    from .suggest import suggest  # heavy (optuna): imported only here

    if not 0 <= args.seed <= 2**32 - 1:
        raise CliError(f"--seed {args.seed} is out of range; pass an integer in [0, 4294967295]")
    state = st.load_agent_state(ws.state_path)
    if args.count < 1:
        raise CliError(f"--count must be >= 1, got {args.count}")
    space = ws.space()
    out = suggest(state, space, ws.config(None), sampler=args.sampler, seed=args.seed, count=args.count)
    if args.render_base:  # the trial writes the rendered file as is: no config-apply request per proposal
        out["rendered"] = [_render(ws, space, args.render_base, d["config_changes"]) for d in out["decisions"]]
    return out


def _render(ws: Workspace, space, base: str, changes: list) -> dict | None:
    """The config ``changes`` make of ``base``: ``{text, diff, config_id}`` (dry run), None for a stop."""
    if not changes:
        return None
    got = apply_changes(ws.config(None), changes, space, base_path=base, dry_run=True, with_text=True)
    return {"text": got["text"], "diff": got["diff"], "config_id": got["config_id"]}


def cmd_study(ws: Workspace, args) -> dict:
    from .study import study_path, sync_locked

    try:
        return sync_locked(ws.dir, lambda: st.load_agent_state(ws.state_path), ws.space)
    except USER_ERRORS:
        raise
    except Exception as exc:  # sqlite / optuna: name the file and the fix
        raise CliError(f"cannot write the Optuna study {study_path(ws.dir)} ({type(exc).__name__}: {exc}); "
                       "move it aside and run 'python -m nas_agent study' again") from None


def cmd_report(ws: Workspace, args) -> dict:
    from .report import build_report, read_decisions  # heavy (matplotlib): imported only here

    try:
        space = ws.space()
    except SpaceError:
        space = None  # the report still shows everything but the per-key ranges
    decisions = Path(args.decisions) if args.decisions else ws.dir / ".nas-graph" / "decisions.jsonl"
    state = st.load_agent_state(ws.state_path)
    return build_report(ws.dir, state, space, read_decisions(decisions), target=args.target, fidelity=args.fidelity)


def cmd_ensemble(ws: Workspace, args) -> dict:
    steps = ensemble.DEFAULT_STEPS if args.steps is None else args.steps
    return ensemble.build(ws.dir, ws.state_path, steps, args.forecast_csv)


def cmd_rebuild_state(ws: Workspace, args) -> dict:
    return rb.rebuild(ws, build_run, ensure_baselines, args.force)


COMMANDS = {
    "space": cmd_space, "config-get": cmd_config_get, "config-apply": cmd_config_apply,
    "config-id": cmd_config_id, "config-restore": cmd_config_restore, "next-run-id": cmd_next_run_id,
    "check-env": cmd_check_env, "preflight": cmd_preflight, "begin-search": cmd_begin_search,
    "record-run": cmd_record_run, "record-runs": cmd_record_runs, "finish-round": cmd_finish_round,
    "promising": cmd_promising, "standing": cmd_standing, "set-accept": cmd_set_accept, "summarize": cmd_summarize,
    "suggest": cmd_suggest, "study": cmd_study, "report": cmd_report, "baselines": cmd_baselines,
    "ensemble": cmd_ensemble, "rebuild-state": cmd_rebuild_state,
}


def execute(argv: list[str]) -> tuple[int, dict | None]:
    """Run one command: (exit code, the JSON object to print; None after --help)."""
    try:
        args = build_parser().parse_args(argv)
        if args.command == "serve":
            raise CliError("serve takes no request of its own: run it as 'python -m nas_agent serve'")
        result = COMMANDS[args.command](Workspace(args), args)
        return 0, {"ok": True, **result}
    except USER_ERRORS as exc:
        errors = getattr(exc, "errors", None)
        return 2, {"ok": False, "error": _one_line(str(exc)), **({"errors": errors} if errors else {})}
    except ModuleNotFoundError as exc:
        if not str(exc.name or "").startswith("nas_agent"):  # an environment problem, not our bug
            return 2, {"ok": False, "error": _missing_package(exc)}
        return 1, {"ok": False, "error": _one_line(f"internal error in nas_agent (ModuleNotFoundError: {exc}); please report it")}
    except SystemExit as exc:  # --help
        return int(exc.code or 0), None
    except OSError as exc:  # a full disk, a read-only or vanished file: the user's to fix
        what = f"{exc.filename}" if exc.filename else "a file"
        return 2, {"ok": False, "error": _one_line(
            f"cannot write or read {what} ({exc.strerror or exc}); free disk space or fix the file or its "
            "permissions, then 'nas-graph resume'")}
    except Exception as exc:  # noqa: BLE001 - last resort: still one JSON line, never a traceback wall
        return 1, {"ok": False, "error": _one_line(f"internal error in nas_agent ({type(exc).__name__}: {exc}); please report it")}


def main(argv: list[str] | None = None) -> int:
    """Run one command; print one JSON object; return the exit code. ``serve``: the request loop."""
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["serve"]:
        return serve(sys.stdin, sys.stdout)
    code, obj = execute(argv)
    if obj is not None:
        _emit(obj)
    return code


def serve(requests, answers) -> int:
    """Answer ``{"id", "argv"}`` lines with ``{"id", "exit", "result"}`` lines, in order, until EOF.

    Modules stay imported between requests (optuna once per search, not once per call); every
    command still reads its files afresh. A stray print goes to stderr, never into the answers.
    Ctrl-C belongs to the parent (which ends this helper by closing stdin)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.stdout = sys.stderr
    for line in requests:
        if not line.strip():
            continue
        rid = None
        try:
            req = json.loads(line)
            rid = req.get("id") if isinstance(req, dict) else None
            argv = req.get("argv") if isinstance(req, dict) else None
            if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
                raise ValueError("argv must be a list of strings")
        except ValueError as exc:
            code, obj = 2, {"ok": False, "error": _one_line(f"bad request line ({exc}): send {{\"id\": n, \"argv\": [...]}}")}
        else:
            _test_kill_point(argv)
            code, obj = execute(argv)
        answers.write(json.dumps({"id": rid, "exit": code, "result": st.json_safe(obj or {})}, allow_nan=False) + "\n")
        answers.flush()
    return 0


def _missing_package(exc: ModuleNotFoundError) -> str:
    return _one_line(f"the Python at {sys.executable} lacks the package {exc.name!r} that nas_system needs: "
                     "run 'bash scripts/setup.sh' or set NAS_PYTHON to a Python with nas_system/requirements.txt")


_served: dict[str, int] = {}


def _test_kill_point(argv: list[str]) -> None:
    """The fault suite's helper crash: NAS_TEST_KILL_HELPER_AT=<command>:<n> makes this helper
    SIGKILL itself on its n-th request of that command, once per file named by
    NAS_TEST_KILL_HELPER_ONCE (created first). Nothing happens when they are unset."""
    spec, once = os.environ.get("NAS_TEST_KILL_HELPER_AT"), os.environ.get("NAS_TEST_KILL_HELPER_ONCE")
    if not spec or not once:
        return
    command, _, n = spec.partition(":")
    if command not in argv:
        return
    _served[command] = _served.get(command, 0) + 1
    if _served[command] == int(n or 1) and not os.path.exists(once):
        Path(once).touch()
        os.kill(os.getpid(), 9)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(st.json_safe(obj), allow_nan=False) + "\n")
    sys.stdout.flush()
