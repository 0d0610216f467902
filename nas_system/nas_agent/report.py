"""The search report: ``runs/report.html`` (one self-contained file, plots as data URIs) and
``runs/report.md`` (plots in ``runs/report_files/``), from agent_state.json, the run dirs and
the decision log (``.nas-graph/decisions.jsonl``, for the per-iteration LLM cost).

Sections: summary; optimization history (val_mse per training, accepted / rejected / failed
markers, the best-so-far line, the measured noise band around it, the target line); learning
curves of the best configs; val_mse against each searched key; the best config as a diff
against the baseline; the decision table; the naive baselines and the noise when recorded; and
the held-out test results in a section of their own, stated as not used for selection.

A config is the set of runs sharing ``config_id`` at one fidelity (its seeds; the grouping of
config_stats.py), else one run; its score is the mean val_mse of its finished runs.
"""
from __future__ import annotations

import base64
import difflib
import html
import io
import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import standing
from .agent_state import AgentState, RunInfo
from .config_stats import ConfigStats, config_table, group_key, run_labels
from .search_space import SearchSpace

GREEN, ORANGE, RED, BLUE, GREY = "#2ca02c", "#ff7f0e", "#d62728", "#1f77b4", "#7f7f7f"
TOP_CONFIGS = 3


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _f(x: Any, digits: int = 4) -> str:
    return f"{x:.{digits}f}" if _finite(x) else "-"


@dataclass
class Config:
    """One config's runs, for the plots that read them (learning curves), beside its statistics:
    config_stats.ConfigStats, the one grouping and the one mean, sd and values; none recomputed
    here (configs_of builds them)."""
    key: Any
    stats: ConfigStats
    runs: list[RunInfo] = field(default_factory=list)

    @property
    def values(self) -> list[float]:
        return self.stats.val_values

    @property
    def mean(self) -> float | None:
        return self.stats.val_mean

    @property
    def sd(self) -> float | None:
        return self.stats.val_sd

    @property
    def first(self) -> RunInfo:
        return self.runs[0]


def configs_of(runs: list[RunInfo]) -> dict[tuple, Config]:
    """Each config of ``runs`` (config_stats.config_table), keyed by its group key, with its runs."""
    out = {c.key: Config(c.key, c) for c in config_table(runs)}
    for r in runs:
        out[group_key(r)].runs.append(r)
    return out


def read_decisions(path: Path | None) -> list[dict]:
    if path is None or not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a torn last line of a killed process
    return out


def iteration_costs(decisions: list[dict]) -> dict[str, float]:
    """LLM cost (USD) of each run: its share of its round's cost (``usage_run``, written by
    update_state); a log from before that field falls back to the rise of the search's total."""
    costs, last_total = {}, {}
    for d in decisions:
        run_id, sid = d.get("run_id"), d.get("search_id")
        total = (d.get("usage_total") or {}).get("cost_usd", 0.0) or 0.0
        own = (d.get("usage_run") or {}).get("cost_usd")
        cost = own if _finite(own) else total - last_total.get(sid, 0.0)
        last_total[sid] = total
        if run_id:
            costs[run_id] = float(cost)
    return costs


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else None
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None


# ---- plots --------------------------------------------------------------------------------

def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    _plt().close(fig)
    return buf.getvalue()


def best_so_far(runs: list[RunInfo]) -> list[float | None]:
    """After each training: the lowest config mean among accepted configs, seeds so far (config_stats
    over the runs up to it)."""
    out = []
    for i in range(len(runs)):
        means = [c.val_mean for c in config_table(runs[: i + 1]) if c.accepted and c.val_mean is not None]
        out.append(min(means) if means else None)
    return out


def noise_sd(state: AgentState, best: RunInfo | None) -> tuple[float | None, str | None]:
    noise = state.stats()[1]
    if not isinstance(noise, dict) or not noise:
        return None, None
    fid = best.fidelity if best else None
    entry = noise.get(fid) if fid in noise else next(iter(noise.values()))
    key = fid if fid in noise else next(iter(noise))
    sd = entry.get("sd") if isinstance(entry, dict) else None
    return (float(sd), key) if _finite(sd) else (None, None)


def plot_history(state: AgentState, best: RunInfo | None, target: float | None, labels: dict[str, str]) -> bytes:
    """The optimization history; ``labels``: each run's verdict label (config_stats.run_labels)."""
    plt = _plt()
    runs = state.runs
    fig, ax = plt.subplots(figsize=(10.5, 4.2))
    xs = list(range(1, len(runs) + 1))
    ok_vals = [r.val_mse for r in runs if r.status == "ok" and _finite(r.val_mse)]
    top = max(ok_vals) * 1.08 if ok_vals else 1.0
    for kind, color, marker in (("accepted", GREEN, "o"), ("rejected", ORANGE, "X"), ("promising", "#9467bd", "D")):
        pts = [(x, r.val_mse) for x, r in zip(xs, runs) if labels[r.run_id] == kind and _finite(r.val_mse)]
        if pts:
            ax.scatter(*zip(*pts), c=color, marker=marker, s=55, zorder=3, label=f"{kind} ({len(pts)})")
    failed = [x for x, r in zip(xs, runs) if labels[r.run_id] == "failed"]
    if failed:
        ax.scatter(failed, [top] * len(failed), c=RED, marker="v", s=60, zorder=3, label=f"failed ({len(failed)}, no value)")
    bsf = best_so_far(runs)
    line = [(x, b) for x, b in zip(xs, bsf) if b is not None]
    if line:
        bx, by = zip(*line)
        ax.step(bx, by, where="post", color=BLUE, lw=2, label="best so far (config mean)")
        sd, fid = noise_sd(state, best)
        if sd is not None:
            ax.fill_between(bx, [y - sd for y in by], [y + sd for y in by], step="post", color=BLUE, alpha=0.15,
                            label=f"measured noise ±1 sd ({sd:.4f})")
    if _finite(target):
        ax.axhline(target, color=GREY, ls="--", lw=1.5, label=f"target {target:g}")
    naive = standing.persistence_val(state)
    if naive is not None:
        ax.axhline(naive, color=RED, ls=":", lw=1.5, label=f"persistence {naive:.4f} (repeat the last value)")
    ax.set(xlabel="training (in order)", ylabel="val_mse", title="Optimization history")
    ax.set_xticks(xs if len(xs) <= 30 else xs[:: max(1, len(xs) // 15)])
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))  # outside: never hides a marker
    fig.tight_layout()
    return _png(fig)


def plot_curves(ws: Path, top: list[Config]) -> bytes | None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 4.2))
    colors = [BLUE, GREEN, ORANGE, "#9467bd", "#8c564b"]
    drawn = False
    for color, cfg in zip(colors, top):
        for i, run in enumerate(r for r in cfg.runs if r.status == "ok"):
            hist = _read_json(ws / "runs" / run.run_id / "history.json")
            epochs = (hist or {}).get("epochs") or []
            if not epochs:
                continue
            e = [h.get("epoch") for h in epochs]
            label = f"{cfg.first.run_id}" + (f" ({len(cfg.values)} seeds)" if len(cfg.values) > 1 else "")
            ax.plot(e, [h.get("val_mse") for h in epochs], "-o", color=color, ms=3, label=f"{label} val" if i == 0 else None)
            ax.plot(e, [h.get("train_mse") for h in epochs], "--", color=color, alpha=0.6, label=f"{label} train" if i == 0 else None)
            drawn = True
    if not drawn:
        plt.close(fig)
        return None
    ax.set(xlabel="epoch", ylabel="MSE (scaled, target)", title="Learning curves of the best configs")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _png(fig)


def searched_keys(runs: list[RunInfo], space: SearchSpace | None) -> list[str]:
    """Space keys whose value differs between finished runs."""
    keys = list(space.params) if space else sorted({k for r in runs for k in (r.params or {})})
    out = []
    for k in keys:
        vals = {json.dumps(r.params.get(k), sort_keys=True) for r in runs if r.status == "ok" and k in (r.params or {})}
        if len(vals) > 1:
            out.append(k)
    return out


def plot_keys(runs: list[RunInfo], keys: list[str], space: SearchSpace | None, labels: dict[str, str]) -> bytes | None:
    if not keys:
        return None
    plt = _plt()
    cols = min(3, len(keys))
    rows = math.ceil(len(keys) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.8 * rows), squeeze=False)
    for ax, key in zip(axes.flat, keys):
        pts = [(r.params[key], r.val_mse, labels[r.run_id]) for r in runs
               if r.status == "ok" and _finite(r.val_mse) and key in (r.params or {})]
        numeric = all(_finite(v) for v, _, _ in pts)
        if numeric:
            xs = [float(v) for v, _, _ in pts]
        else:
            cats = sorted({str(v) for v, _, _ in pts})
            xs = [cats.index(str(v)) for v, _, _ in pts]
            ax.set_xticks(range(len(cats)))
            ax.set_xticklabels([c.rsplit(".", 1)[-1] for c in cats], rotation=20, fontsize=7)
        ax.scatter(xs, [y for _, y, _ in pts], c=[GREEN if v == "accepted" else ORANGE for _, _, v in pts], s=25)
        if numeric and all(isinstance(v, int) and not isinstance(v, bool) for v, _, _ in pts):
            from matplotlib.ticker import MaxNLocator

            ticks = sorted({int(v) for v, _, _ in pts})  # integer keys on an integer axis
            if len(ticks) <= 8:
                ax.set_xticks(ticks)
            else:
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        spec = space.params.get(key) if space else None
        if numeric and spec is not None and spec.log:
            from matplotlib.ticker import NullFormatter

            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels overlap on short ranges
        ax.set_title(key, fontsize=8)
        ax.set_xlabel(key, fontsize=7)
        ax.set_ylabel("val_mse", fontsize=7)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(keys):]:
        ax.axis("off")
    fig.suptitle("val_mse against each searched key (green: accepted, orange: rejected)", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.3 / (2.8 * rows)))
    return _png(fig)


# ---- the report ---------------------------------------------------------------------------

@dataclass
class Section:
    title: str
    html: str
    md: str


def _table(head: list[str], rows: list[list[str]], cls: str = "") -> tuple[str, str]:
    esc = html.escape
    h = "<table" + (f' class="{cls}"' if cls else "") + "><thead><tr>" + "".join(f"<th>{esc(c)}</th>" for c in head) + "</tr></thead><tbody>"
    h += "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows) + "</tbody></table>"
    cell = lambda c: c.replace("|", "\\|").replace("\n", " ")  # noqa: E731
    md = "| " + " | ".join(head) + " |\n| " + " | ".join("---" for _ in head) + " |\n"
    md += "".join("| " + " | ".join(cell(c) for c in row) + " |\n" for row in rows)
    return h, md


def _img(name: str, png: bytes, alt: str, files: dict[str, bytes]) -> tuple[str, str]:
    files[name] = png
    data = base64.b64encode(png).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(alt)}"></figure>',
            f"![{alt}](report_files/{name})\n")


def _one_line(text: Any, n: int = 0) -> str:
    s = " ".join(str(text or "").split())
    return s[: n - 3] + "..." if n and len(s) > n else s


def _baseline_run(runs: list[RunInfo]) -> RunInfo | None:
    for r in runs:
        if (r.step_type == "baseline" or r.kind == "baseline") and r.status == "ok":
            return r
    return next((r for r in runs if r.status == "ok"), None)


def build_report(ws: Path, state: AgentState, space: SearchSpace | None, decisions: list[dict],
                 target: float | None = None, fidelity: str | None = None) -> dict[str, Any]:
    """Write runs/report.html, runs/report.md and runs/report_files/*.png; return their paths.
    One fidelity at a time (the current one, or ``fidelity``: a key or an epoch cap): runs of other
    task or epoch caps are never mixed into its plots and tables."""
    shown = standing.resolve_fidelity(state, fidelity)
    others = {f: sum(r.fidelity == f for r in state.runs) for f in standing.fidelities(state) if f != shown}
    state = standing.view(state, shown)
    runs = state.runs
    labels = run_labels(runs)  # the labels of one fidelity's runs are those of the whole state: configs never span fidelities
    configs = configs_of(runs)
    best = state.find(state.best_run_id) if state.best_run_id else None
    best_cfg = configs.get(group_key(best)) if best else None
    files: dict[str, bytes] = {}
    sections: list[Section] = []

    # summary
    n_fail = sum(labels[r.run_id] == "failed" for r in runs)
    n_acc = sum(labels[r.run_id] == "accepted" for r in runs)
    n_prom = sum(labels[r.run_id] == "promising" for r in runs)
    lines = [f"Fidelity {shown or '-'}: {len(runs)} trainings: {n_acc} accepted, {len(runs) - n_acc - n_fail - n_prom} rejected, "
             f"{n_prom} promising (unconfirmed), {n_fail} failed."]
    if others:
        lines.append("Not shown (not comparable): " + "; ".join(
            f"{n} runs at {f}" for f, n in others.items()) + ". Pick one with 'nas-graph report --fidelity N' (N: its epoch cap).")
    if best and best_cfg:
        seeds = len(best_cfg.values)
        score = f"{_f(best_cfg.mean)} ± {_f(best_cfg.sd)} over {seeds} seeds" if seeds > 1 else _f(best.val_mse)
        lines.append(f"Best config: {best.run_id}, val_mse {score}; its config is runs/{best.run_id}/config_used.py.")
    else:
        lines.append("No accepted run yet.")
    costs = iteration_costs(decisions)
    if costs and others:  # the shown trainings' share, and what it covers
        own = sum(costs.get(r.run_id, 0.0) for r in runs)
        lines.append(f"LLM cost of these trainings: ${own:.4f} (all fidelities: ${sum(costs.values()):.4f}).")
    elif costs:
        lines.append(f"LLM cost: ${sum(costs.values()):.4f}.")
    if _finite(target):
        lines.append(f"Target val_mse: {target:g}.")
    sections.append(Section("Summary", "".join(f"<p>{html.escape(x)}</p>" for x in lines), "\n\n".join(lines) + "\n"))

    if runs:
        h, m = _img("history.png", plot_history(state, best, target, labels), "optimization history", files)
        sd, fid = noise_sd(state, best)
        note = (f"Blue band: the seed-to-seed sd of val_mse measured on the baseline ({_f(sd)}, fidelity {fid}) "
                "around the best-so-far line." if sd is not None else "No noise measurement recorded (no band).")
        sections.append(Section("Optimization history", h + f"<p class=note>{html.escape(note)}</p>", m + "\n" + note + "\n"))

    ranked = sorted((c for c in configs.values() if c.mean is not None), key=lambda c: c.mean)[:TOP_CONFIGS]
    curves = plot_curves(ws, ranked) if ranked else None
    if curves:
        h, m = _img("curves.png", curves, "learning curves of the best configs", files)
        sections.append(Section("Learning curves of the best configs", h, m))

    keys = searched_keys(runs, space)
    per_key = plot_keys(runs, keys, space, labels)
    if per_key:
        h, m = _img("keys.png", per_key, "val_mse against each searched key", files)
        sections.append(Section("Searched keys", h, m))

    base = _baseline_run(runs)
    if best and base:
        sections.append(_best_diff(ws, space, base, best))
    ensemble = _ensemble(state)
    if ensemble:
        sections.append(ensemble)
    sections.append(_decisions(runs, configs, costs, labels))
    extra = _baselines_and_noise(state)
    if extra:
        sections.append(extra)
    sections.append(_held_out(runs, best_cfg, labels))

    out_dir = ws / "runs"
    (out_dir / "report_files").mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (out_dir / "report_files" / name).write_bytes(data)
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    title = f"nas-graph report: {ws.resolve().name}"
    html_path, md_path = out_dir / "report.html", out_dir / "report.md"
    _atomic(html_path, _html(title, stamp, sections))
    md = f"# {title}\n\nGenerated {stamp}.\n\n" + "".join(f"## {s.title}\n\n{s.md}\n" for s in sections)
    _atomic(md_path, md)
    return {"html": str(html_path), "md": str(md_path), "images": len(files), "runs": len(runs)}


def _best_diff(ws: Path, space: SearchSpace | None, base: RunInfo, best: RunInfo) -> Section:
    title = "Best config against the baseline"
    if base.run_id == best.run_id:
        text = f"The best config is the baseline ({base.run_id}): no change."
        return Section(title, f"<p>{html.escape(text)}</p>", text + "\n")
    keys = list(space.params) if space else sorted(set(base.params) | set(best.params))
    rows = [[k, json.dumps(base.params.get(k)), json.dumps(best.params.get(k))]
            for k in keys if base.params.get(k) != best.params.get(k)]
    th, tm = _table(["key", f"baseline ({base.run_id})", f"best ({best.run_id})"], rows)
    a = ws / "runs" / base.run_id / "config_used.py"
    b = ws / "runs" / best.run_id / "config_used.py"
    diff = []
    if a.is_file() and b.is_file():
        diff = list(difflib.unified_diff(a.read_text().splitlines(), b.read_text().splitlines(),
                                         f"runs/{base.run_id}/config_used.py", f"runs/{best.run_id}/config_used.py", lineterm=""))
    cls = lambda ln: "add" if ln.startswith("+") and not ln.startswith("+++") else "del" if ln.startswith("-") and not ln.startswith("---") else ""  # noqa: E731
    pre = "<pre class=diff>" + "\n".join(f'<span class="{cls(ln)}">{html.escape(ln)}</span>' for ln in diff) + "</pre>"
    return Section(title, th + (pre if diff else ""), tm + ("\n```diff\n" + "\n".join(diff) + "\n```\n" if diff else ""))


def _ensemble(state: AgentState) -> Section | None:
    """The current fidelity's ensemble (nas_agent.ensemble) beside the best single run."""
    e = (state.ensembles or {}).get(state.current_fidelity() or "")
    if not isinstance(e, dict) or not e.get("members"):
        return None
    single = e.get("best_single") or {}
    text = (f"Ensemble of {len(e['members'])} runs, weights chosen by greedy selection with replacement on val MSE "
            f"(Caruana et al. 2004) among {e.get('n_candidates', '?')} runs with saved forecasts: val_mse {_f(e.get('val_mse'))} "
            f"(best single run {single.get('run_id', '-')}: {_f(single.get('val_mse'))}); not used to choose: "
            f"test_mse (held out) {_f(e.get('test_mse'))} (best single run: {_f(single.get('test_mse'))}). Both val figures "
            "are measured on the data they were chosen on; the held-out figures are the fair comparison.")
    h, m = _table(["run", "weight", "times added"],
                  [[str(x.get("run_id")), _f(x.get("weight"), 3), str(x.get("count", "-"))] for x in e["members"]])
    cmd = "Its test forecast as CSV: nas-graph ensemble --forecast-csv forecast.csv"
    return Section("Ensemble (selected on validation)", f"<p>{html.escape(text)}</p>{h}<p class=note>{html.escape(cmd)}</p>",
                   f"{text}\n\n{m}\n{cmd}\n")


def _decisions(runs: list[RunInfo], configs: dict[tuple, Config], costs: dict[str, float], labels: dict[str, str]) -> Section:
    head = ["run", "planner", "step", "plan", "planner's reason", "val_mse", "config mean ± sd (seeds)", "seed",
            "verdict", "evaluator's reason", "LLM cost"]
    rows = []
    for r in runs:
        cfg = configs[group_key(r)]
        group = f"{_f(cfg.mean)} ± {_f(cfg.sd)} ({len(cfg.values)})" if len(cfg.values) > 1 else ""
        seed = r.seed
        rows.append([r.run_id, r.planner or "-", str(r.kind or r.step_type or "-"), _one_line(r.plan),
                     _one_line(r.reason), _f(r.val_mse) if r.status == "ok" else "-", group,
                     "-" if seed is None else str(seed),
                     labels[r.run_id] if r.status == "ok" else f"failed ({r.status})",
                     _one_line(r.evaluation_reason or r.error), f"${costs[r.run_id]:.4f}" if r.run_id in costs else "-"])
    h, m = _table(head, rows, "decisions")
    return Section("Decisions", h, m)


def _baselines_and_noise(state: AgentState) -> Section | None:
    parts_h, parts_m = [], []
    noise = {k: v for k, v in state.stats()[1].items() if k == state.fidelity}
    if isinstance(noise, dict) and noise:
        rows = [[fid, _f(n.get("sd")), _f((n.get("rel_sd") or 0) * 100, 1) + "%", _f(n.get("mean")), str(n.get("n", "-")),
                 ", ".join(n.get("run_ids") or [])] for fid, n in noise.items() if isinstance(n, dict)]
        h, m = _table(["fidelity", "sd", "rel. sd", "mean", "seeds", "runs"], rows)
        parts_h.append("<h3>Measured noise (val_mse over seeds of the baseline)</h3>" + h)
        parts_m.append("### Measured noise (val_mse over seeds of the baseline)\n\n" + m)
    task = state.fidelity.rsplit(" @", 1)[0] if state.fidelity else None
    methods = (state.baselines or {}).get(task) if task else None
    # the forecasts only: an entry's task and period are metadata, not rows
    rows = [[task, name, _f(v.get("val_mse")), _f(v.get("test_mse"))] for name, v in (methods or {}).items()
            if isinstance(v, dict) and "val_mse" in v] if isinstance(methods, dict) else []
    if rows:
        if _finite(methods.get("period")):
            rows = [[t, f"{n} (period {methods['period']})" if n == "seasonal_naive" else n, a, b] for t, n, a, b in rows]
        h, m = _table(["task", "naive forecast", "val_mse", "test_mse (held out)"], rows)
        parts_h.append("<h3>Naive baselines</h3>" + h)
        parts_m.append("### Naive baselines\n\n" + m)
    if not parts_h:
        return None
    return Section("Noise and naive baselines", "".join(parts_h), "\n".join(parts_m))


def _held_out(runs: list[RunInfo], best_cfg: Config | None, labels: dict[str, str]) -> Section:
    note = ("Held out: test metrics are recorded for every finished run and shown here, but no decision used them "
            "(not the planner, not the evaluator, not the Optuna history). Selection used val_mse only.")
    rows = [[r.run_id, labels[r.run_id], _f(r.val_mse), _f(r.test_mse), _f(r.test_mae)]
            for r in runs if r.status == "ok"]
    h, m = _table(["run", "verdict", "val_mse", "test_mse", "test_mae"], rows, "heldout")
    tests = best_cfg.stats.test_values if best_cfg else []
    best_line = ""
    if tests:
        best_line = f"Best config ({best_cfg.first.run_id}): test_mse {_f(best_cfg.stats.test_mean)}" + (
            f" mean over {len(tests)} seeds." if len(tests) > 1 else ".")
    return Section("Held-out test results (not used for selection)",
                   f"<p class=note>{html.escape(note)}</p>" + (f"<p>{html.escape(best_line)}</p>" if best_line else "") + h,
                   note + "\n\n" + (best_line + "\n\n" if best_line else "") + m)


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.82em;margin:.6em 0}th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f0f3f7}tbody tr:nth-child(even){background:#fafafa}figure{margin:.5em 0}img{max-width:100%}
.note{color:#555;font-size:.9em}pre.diff{background:#f7f7f7;padding:.6em;font-size:.8em;overflow-x:auto}
.add{color:#1a7f37;background:#e6ffec}.del{color:#b42318;background:#ffebe9}
"""


def _html(title: str, stamp: str, sections: list[Section]) -> str:
    esc = html.escape
    body = "".join(f"<section><h2>{esc(s.title)}</h2>{s.html}</section>" for s in sections)
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{esc(title)}</title>"
            f"<style>{CSS}</style></head><body><h1>{esc(title)}</h1><p class=note>Generated {esc(stamp)}.</p>"
            f"{body}</body></html>\n")


def _atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
