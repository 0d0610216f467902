"""``python -m nas_agent --system-dir DIR <command>``: the JSON interface TypeScript calls.

Every command prints exactly one JSON object on stdout. Exit 0 with ``{"ok": true, ...}``;
exit 2 with ``{"ok": false, "error": "<one line>", "errors"?: [...]}`` for anything the user
or the LLM got wrong; exit 1 with the same shape for an internal bug. Only ``suggest``
imports heavy packages (optuna), lazily.
"""
from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path
from typing import Any

from . import agent_state as st
from . import baselines as naive
from .config_edit import ConfigEditError, apply_changes, read_values, restore
from .history_summary import build_history_summary
from .search_space import SpaceError, load_space, resolve_space_path

RUN_ID_RE = re.compile(r"^run_(\d+)$")
SAFE_ID_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


class CliError(ValueError):
    """A user-facing error of the CLI (bad argument, unknown run, ...)."""

    def __init__(self, message: str, errors: list[str] | None = None):
        super().__init__(message)
        self.errors = errors


USER_ERRORS = (CliError, SpaceError, ConfigEditError, st.AgentStateError, naive.BaselineError)


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
    r = sub.add_parser("config-restore", help="atomically copy a config snapshot onto config.py")
    r.add_argument("--from", dest="from_path", required=True)
    r.add_argument("--config")
    sub.add_parser("next-run-id", help="the next free run_XXXX id")
    rec = sub.add_parser("record-run", help="record a run in agent_state.json")
    rec.add_argument("--run-id", required=True)
    rec.add_argument("--info", default="{}", help="JSON object of decision fields")
    s = sub.add_parser("set-accept", help="manually accept or reject a run")
    s.add_argument("--run-id", required=True)
    grp = s.add_mutually_exclusive_group(required=True)
    grp.add_argument("--accept", action="store_true")
    grp.add_argument("--reject", action="store_true")
    s.add_argument("--reason")
    m = sub.add_parser("summarize", help="history summary of a run")
    m.add_argument("--run-id", required=True)
    b = sub.add_parser("baselines", help="naive baselines (persistence, seasonal naive) of a config's task")
    b.add_argument("--config", help="config whose task is scored (default: DIR/config.py)")
    b.add_argument("--no-store", action="store_true", help="compute a missing entry without saving it")
    b.add_argument("--recompute", action="store_true", help="recompute even when agent_state.json has it")
    q = sub.add_parser("suggest", help="Optuna suggestion from the full history")
    q.add_argument("--sampler", choices=["tpe", "random"], default="tpe")
    q.add_argument("--seed", type=int, default=0)
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
    return apply_changes(ws.config(args.config), changes, ws.space(), base_path=args.base, dry_run=args.dry_run)


def cmd_config_restore(ws: Workspace, args) -> dict:
    restore(args.from_path, ws.config(args.config))
    return {"restored_from": str(args.from_path)}


def cmd_next_run_id(ws: Workspace, args) -> dict:
    state = st.load_agent_state(ws.state_path)
    nums = [int(m.group(1)) for r in state.runs if (m := RUN_ID_RE.match(r.run_id))]
    if ws.runs_dir.is_dir():
        nums += [int(m.group(1)) for p in ws.runs_dir.iterdir() if (m := RUN_ID_RE.match(p.name))]
    return {"run_id": f"run_{(max(nums) + 1 if nums else 0):04d}"}


def cmd_record_run(ws: Workspace, args) -> dict:
    info = _json_arg(args.info, "--info")
    if not isinstance(info, dict):
        raise CliError("--info must be a JSON object")
    state = st.load_agent_state(ws.state_path)
    previous = state.best_run_id
    run = build_run(ws, args.run_id, info, state.find(args.run_id))
    st.add_run(state, run)
    out = {"run": run.to_dict(), "best_run_id": state.best_run_id, "previous_best_run_id": previous}
    used = ws.run_dir(args.run_id) / "config_used.py"
    if used.is_file():  # the run's task gets its naive baselines once; a data problem never loses the run
        try:
            ensure_baselines(ws, state, used)
        except naive.BaselineError as exc:
            out["baselines_error"] = str(exc)
    st.save_agent_state(state, ws.state_path)
    return out


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


def build_run(ws: Workspace, run_id: str, info: dict, existing: st.RunInfo | None) -> st.RunInfo:
    """Merge the existing entry, ``info`` and the run dir's files into one RunInfo."""
    run_dir = ws.run_dir(run_id)
    data = existing.to_dict() if existing else {"run_id": run_id}
    if "config_changes" in info:
        try:
            info = {**info, "config_changes": st.changes_to_dict(info["config_changes"])}
        except st.AgentStateError as exc:
            raise CliError(f"--info: {exc}") from None
    data.update({k: v for k, v in info.items() if k != "run_id"})
    status = info.get("status") or (existing.status if existing else None)
    data.update(_run_files(run_dir, run_id, status, ws.space))
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


def _run_files(run_dir: Path, run_id: str, info_status: str | None, load_space_fn) -> dict[str, Any]:
    """Fields read from metrics.json / failure.json, history.json and config_used.py.

    Only the outcome files are required; a damaged history or config snapshot is noted in
    the run (history_summary / params_error) so that a finished run is never lost."""
    out: dict[str, Any] = {}
    metrics_path, failure_path = run_dir / "metrics.json", run_dir / "failure.json"
    metrics: dict[str, Any] = {}
    if metrics_path.is_file():
        metrics = _read_json(metrics_path)
        for k in ("val_mse", "test_mse", "test_mae", "train_mse", "best_epoch", "epochs_run",
                  "val_mae", "max_epochs", "stopped_early", "train_time_s", "n_params", "device"):
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
            out["history_summary"] = build_history_summary(_read_json(history_path), metrics)
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


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def cmd_set_accept(ws: Workspace, args) -> dict:
    state = st.load_agent_state(ws.state_path)
    previous = state.best_run_id
    run = st.set_accepted(state, args.run_id, bool(args.accept), args.reason)
    st.save_agent_state(state, ws.state_path)
    return {"run": run.to_dict(), "best_run_id": state.best_run_id, "previous_best_run_id": previous}


def cmd_summarize(ws: Workspace, args) -> dict:
    run_dir = ws.run_dir(args.run_id)
    history = run_dir / "history.json"
    if history.is_file():
        metrics_path = run_dir / "metrics.json"
        metrics = _read_json(metrics_path) if metrics_path.is_file() else None
        return {"summary": build_history_summary(_read_json(history), metrics)}
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
    return suggest(state, ws.space(), ws.config(None), sampler=args.sampler, seed=args.seed)


COMMANDS = {
    "space": cmd_space, "config-get": cmd_config_get, "config-apply": cmd_config_apply,
    "config-restore": cmd_config_restore, "next-run-id": cmd_next_run_id,
    "record-run": cmd_record_run, "set-accept": cmd_set_accept, "summarize": cmd_summarize,
    "suggest": cmd_suggest, "baselines": cmd_baselines,
}


def main(argv: list[str] | None = None) -> int:
    """Run one command; print one JSON object; return the exit code."""
    try:
        args = build_parser().parse_args(argv)
        result = COMMANDS[args.command](Workspace(args), args)
        _emit({"ok": True, **result})
        return 0
    except USER_ERRORS as exc:
        errors = getattr(exc, "errors", None)
        _emit({"ok": False, "error": _one_line(str(exc)), **({"errors": errors} if errors else {})})
        return 2
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except Exception as exc:  # noqa: BLE001 - last resort: still one JSON line, never a traceback wall
        _emit({"ok": False, "error": _one_line(f"internal error in nas_agent ({type(exc).__name__}: {exc}); please report it")})
        return 1


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(st.json_safe(obj), allow_nan=False) + "\n")
    sys.stdout.flush()
