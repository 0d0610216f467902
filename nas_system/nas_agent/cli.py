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
import json
import sys
from pathlib import Path

from . import agent_state as st
from . import ensemble
from . import rebuild as rb
from . import standing
from .config_edit import apply_changes, read_values
from .config_id import config_id
from .config_stats import SeedLimits
from .curve import MAX_RISE_PCT
from .helper_errors import USER_ERRORS, CliError, missing_package, one_line
from .incumbent_config import follow_if_changed
from .rounds import finish_round, study_sync, sync_study
from .run_numbering import next_run_ids
from .run_records import build_run, ensure_baselines, record_all, record_run, round_runs
from .search_start import begin_search, preflight_of
from .search_space import SpaceError, load_space, resolve_space_path
from .serve import serve as serve_loop
from .workspace import Workspace, json_arg


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
    n = sub.add_parser("next-run-id", help="the next free run_XXXX id (or --count consecutive ones)")
    n.add_argument("--count", type=int, default=1)
    b = sub.add_parser("begin-search", help="set the current fidelity from a config; report its incumbent and noise")
    b.add_argument("--config")
    b.add_argument("--max-epochs-cap", type=int, default=None)
    b.add_argument("--reserve", type=int, default=1, help="how many next free run ids to return (the first round's)")
    b.add_argument("--preflight", action="store_true", help="first the pre-flight checks (as preflight); on a failure nothing is written")
    b.add_argument("--python", help="with --preflight: the interpreter that runs train.py --check (the trainings')")
    b.add_argument("--baseline-seeds", type=int, default=None, help="the search's --baseline-seeds: each config record says how many it lacks (baseline_seeds_left)")
    pf = sub.add_parser("preflight", help="before a search records anything: packages, search space, config, train.py --check")
    pf.add_argument("--python", help="the interpreter that runs train.py --check (the trainings'); none: not run")
    pf.add_argument("--parse-config", action="store_true", help="also check that config.py parses")
    sd = sub.add_parser("standing", help="one fidelity's view: its incumbent, each run's verdict label, persistence on its task")
    sd.add_argument("--fidelity", help="a recorded fidelity key or an epoch cap N (default: the current fidelity)")
    pr = sub.add_parser("promising", help="promising, unconfirmed configs of the current fidelity that may get another seed")
    pr.add_argument("--max-repeats", type=int, required=True, help="the search's --max-repeats")
    rec = sub.add_parser("record-run", help="record a run in agent_state.json")
    rec.add_argument("--run-id", required=True)
    rec.add_argument("--info", default="{}", help="JSON object of decision fields")
    rec.add_argument("--max-rise", type=float, default=MAX_RISE_PCT, help="overfitting: val_mse rose more than this %% after its best epoch")
    rec.add_argument("--baseline-seeds", type=int, default=None, help="the search's --baseline-seeds: each config record says how many it lacks (baseline_seeds_left)")
    rec.add_argument("--max-repeats", type=int, default=None, help="the search's --max-repeats: each config record says how many further seeds it allows (repeats_left)")
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
    rr.add_argument("--baseline-seeds", type=int, default=None, help="the search's --baseline-seeds: each config record says how many it lacks (baseline_seeds_left)")
    rr.add_argument("--max-repeats", type=int, default=None, help="the search's --max-repeats: each config record says how many further seeds it allows (repeats_left)")
    fr = sub.add_parser("finish-round", help="record a round's verdicts, put config.py on the incumbent, sync the study")
    fr.add_argument("--runs", required=True, help='JSON list [{"run_id": ..., "info": {...}}]')
    fr.add_argument("--max-rise", type=float, default=MAX_RISE_PCT, help="overfitting: val_mse rose more than this %% after its best epoch")
    fr.add_argument("--known-best", default="", help="the incumbent's run id the caller knows ('' for none)")
    fr.add_argument("--fallback", help="config restored when no incumbent is left (the search's start snapshot)")
    fr.add_argument("--reserve", type=int, default=1, help="how many next free run ids to return (the next round's)")
    fr.add_argument("--close", action="store_true", help="the search's last round: also its standing and its ensemble (closing)")
    fr.add_argument("--baseline-seeds", type=int, default=None, help="the search's --baseline-seeds: each config record says how many it lacks (baseline_seeds_left)")
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
    changes = json_arg(args.changes, "--changes")
    return apply_changes(ws.config(args.config), changes, ws.space(), base_path=args.base, dry_run=args.dry_run,
                         with_text=args.with_text)


def cmd_config_id(ws: Workspace, args) -> dict:
    return {"config_id": config_id(ws.config(args.config))}


def cmd_preflight(ws: Workspace, args) -> dict:
    return {"preflight": preflight_of(ws, args.python, args.parse_config)}


def cmd_next_run_id(ws: Workspace, args) -> dict:
    ids = next_run_ids(ws, st.load_agent_state(ws.state_path), args.count, "--count")
    return {"run_id": ids[0], "run_ids": ids}


def cmd_record_run(ws: Workspace, args) -> dict:
    info = json_arg(args.info, "--info")
    state = st.load_agent_state(ws.state_path)
    previous = state.best_run_id
    out = record_run(ws, state, args.run_id, info, "--info", args.max_rise, _limits(args))
    st.save_agent_state(state, ws.state_path)
    return {**out, "previous_best_run_id": previous}


def cmd_record_runs(ws: Workspace, args) -> dict:
    """A round's runs, recorded in order as record-run would, in one request."""
    state, runs = round_runs(ws, args.runs)
    previous = state.best_run_id
    records = record_all(ws, state, runs, args.max_rise, _limits(args))
    return {"records": records, "best_run_id": state.best_run_id, "previous_best_run_id": previous,
            "n_runs": len(state.runs)}


def cmd_finish_round(ws: Workspace, args) -> dict:
    return finish_round(ws, args.runs, args.max_rise, args.known_best, args.fallback, args.reserve, args.close,
                        _limits(args))


def cmd_baselines(ws: Workspace, args) -> dict:
    state = st.load_agent_state(ws.state_path)
    config = ws.config(args.config)
    key, entry, computed = ensure_baselines(ws, state, config, args.recompute)
    if computed and not args.no_store:
        st.save_agent_state(state, ws.state_path)
    return {"task_key": key, "baselines": entry, "computed": computed, "stored": computed and not args.no_store}


def cmd_begin_search(ws: Workspace, args) -> dict:
    return begin_search(ws, args.config, args.max_epochs_cap, args.reserve, args.preflight, args.python,
                        _limits(args))


def _limits(args) -> SeedLimits:
    """The search's --baseline-seeds / --max-repeats a request carries (what each config record then says it has left)."""
    return SeedLimits(args.baseline_seeds, getattr(args, "max_repeats", None))


def cmd_standing(ws: Workspace, args) -> dict:
    return standing.summary(st.load_recorded_state(ws.state_path, ws.runs_dir), args.fidelity)


def _recorded(ws: Workspace) -> st.AgentState:
    """The state of a workspace a command reads the runs of (report, ensemble): lost, corrupt or empty is an error."""
    state = st.load_recorded_state(ws.state_path, ws.runs_dir)
    if not state.runs:
        raise CliError(f"no runs recorded in {ws.dir} yet; start a search with 'nas-graph run' first")
    return state


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
    follow = follow_if_changed(ws, state.best_run_id, previous, args.fallback) or {"config_restored_from": None}
    return {**out, **follow, **sync_study(ws)}


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
    return study_sync(ws)


def cmd_report(ws: Workspace, args) -> dict:
    from .report import build_report, read_decisions  # heavy (matplotlib): imported only here

    try:
        space = ws.space()
    except SpaceError:
        space = None  # the report still shows everything but the per-key ranges
    decisions = Path(args.decisions) if args.decisions else ws.dir / ".nas-graph" / "decisions.jsonl"
    state = _recorded(ws)
    return build_report(ws.dir, state, space, read_decisions(decisions), target=args.target, fidelity=args.fidelity)


def cmd_ensemble(ws: Workspace, args) -> dict:
    steps = ensemble.DEFAULT_STEPS if args.steps is None else args.steps
    _recorded(ws)
    return ensemble.build(ws.dir, ws.state_path, steps, args.forecast_csv)


def cmd_rebuild_state(ws: Workspace, args) -> dict:
    return rb.rebuild(ws, build_run, ensure_baselines, args.force)


COMMANDS = {
    "space": cmd_space, "config-get": cmd_config_get, "config-apply": cmd_config_apply,
    "config-id": cmd_config_id, "next-run-id": cmd_next_run_id,
    "preflight": cmd_preflight, "begin-search": cmd_begin_search,
    "record-run": cmd_record_run, "record-runs": cmd_record_runs, "finish-round": cmd_finish_round,
    "promising": cmd_promising, "standing": cmd_standing, "set-accept": cmd_set_accept,
    "suggest": cmd_suggest, "study": cmd_study, "report": cmd_report, "baselines": cmd_baselines,
    "ensemble": cmd_ensemble, "rebuild-state": cmd_rebuild_state,
}


_parser: argparse.ArgumentParser | None = None


def parser() -> argparse.ArgumentParser:
    """The parser, built once per process: building it costs ~10-25 ms (argparse's gettext
    look-ups), a tenth of a round's helper time; parse_args makes a new Namespace each call."""
    global _parser
    if _parser is None:
        _parser = build_parser()
    return _parser


def execute(argv: list[str]) -> tuple[int, dict | None]:
    """Run one command: (exit code, the JSON object to print; None after --help)."""
    try:
        args = parser().parse_args(argv)
        if args.command == "serve":
            raise CliError("serve takes no request of its own: run it as 'python -m nas_agent serve'")
        result = COMMANDS[args.command](Workspace(args), args)
        return 0, {"ok": True, **result}
    except USER_ERRORS as exc:
        errors = getattr(exc, "errors", None)
        return 2, {"ok": False, "error": one_line(str(exc)), **({"errors": errors} if errors else {})}
    except ModuleNotFoundError as exc:
        if not str(exc.name or "").startswith("nas_agent"):  # an environment problem, not our bug
            return 2, {"ok": False, "error": missing_package(exc)}
        return 1, {"ok": False, "error": one_line(f"internal error in nas_agent (ModuleNotFoundError: {exc}); please report it")}
    except SystemExit as exc:  # --help
        return int(exc.code or 0), None
    except OSError as exc:  # a full disk, a read-only or vanished file: the user's to fix
        what = f"{exc.filename}" if exc.filename else "a file"
        return 2, {"ok": False, "error": one_line(
            f"cannot write or read {what} ({exc.strerror or exc}); free disk space or fix the file or its "
            "permissions, then 'nas-graph resume'")}
    except Exception as exc:  # noqa: BLE001 - last resort: still one JSON line, never a traceback wall
        return 1, {"ok": False, "error": one_line(f"internal error in nas_agent ({type(exc).__name__}: {exc}); please report it")}


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
    """The long-lived helper (serve.py) answering with these commands."""
    return serve_loop(requests, answers, execute)


def _emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(st.json_safe(obj), allow_nan=False) + "\n")
    sys.stdout.flush()
