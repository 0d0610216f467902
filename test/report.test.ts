/**
 * `nas-graph report` on a recorded workspace (run dirs as train.py writes them, agent_state.json
 * with seeds, a failed run, noise and naive baselines, a decision log with costs), rendered in
 * headless Chromium: the page has its plots (checked by the plot colours in a screenshot) and
 * its tables (checked in the rendered DOM).
 */
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliEnv, REPO, removeWorkspace, runCli } from "./helpers/workspace.js";

const PYTHON = fs.existsSync(path.join(REPO, ".venv", "bin", "python")) ? path.join(REPO, ".venv", "bin", "python") : "python3";
const CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"];

function chromium(): string {
  for (const bin of ["chromium", "chromium-browser"]) {
    if (spawnSync("sh", ["-c", `command -v ${bin}`]).status === 0) return bin;
  }
  throw new Error("headless Chromium is needed for this test: apt-get install -y --no-install-recommends chromium (.ci/run does it)");
}

type Params = Record<string, number | string>;
const BASE: Params = { "training.optimizer_params.lr": 0.001, "model.d_model": 16, "model.activation": "gelu", "training.optimizer_class": "optim.Adam" };
const TINY = fs.readFileSync(path.join(REPO, "test", "fixtures", "tiny_config.py"), "utf8");

function configText(p: Params): string {
  return TINY.replace(/"lr": [^,}]+/, `"lr": ${p["training.optimizer_params.lr"]}`)
    .replace(/"d_model": \d+/, `"d_model": ${p["model.d_model"]}`)
    .replace(/"activation": "\w+"/, `"activation": "${p["model.activation"]}"`)
    .replace(/"optimizer_class": optim\.\w+/, `"optimizer_class": ${p["training.optimizer_class"]}`);
}

interface Spec {
  id: string;
  params: Params;
  val?: number;
  test?: number;
  failure?: string;
  fields: Record<string, unknown>;
}

function recordedWorkspace(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nas-graph-report-"));
  fs.writeFileSync(path.join(dir, "config.py"), configText(BASE));
  fs.copyFileSync(path.join(REPO, "test", "fixtures", "tiny_search_space.json"), path.join(dir, "search_space.json"));
  const FID = "ETTh1.csv S OT->12 600/300/300 @3ep";
  const b = { step_type: "baseline", planner: "baseline", kind: "baseline", config_id: "A", fidelity: FID, plan: "Baseline: train the starting config as is", accepted: true };
  const B = { ...BASE, "training.optimizer_params.lr": 0.003 };
  const specs: Spec[] = [
    { id: "run_0000", params: BASE, val: 0.3, test: 0.4, fields: { ...b, seed: 42, evaluation_reason: "baseline: first successful run" } },
    { id: "run_0001", params: BASE, val: 0.32, test: 0.41, fields: { ...b, seed: 43, repeat_of: "run_0000" } },
    { id: "run_0002", params: BASE, val: 0.31, test: 0.42, fields: { ...b, seed: 44, repeat_of: "run_0000" } },
    { id: "run_0003", params: B, val: 0.25, test: 0.35, fields: { step_type: "small", planner: "optuna", kind: "proposal", config_id: "B", fidelity: FID, seed: 42, accepted: true, plan: "TPE proposes: lr 0.001 -> 0.003", reason: "Exploration", evaluation_reason: "improvement beyond the noise margin" } },
    { id: "run_0004", params: B, val: 0.26, test: 0.36, fields: { step_type: "small", planner: "optuna", kind: "repeat", config_id: "B", repeat_of: "run_0003", fidelity: FID, seed: 45, accepted: true, plan: "repeat of run_0003 with a new seed" } },
    { id: "run_0005", params: { ...BASE, "model.d_model": 32 }, failure: "training loss became nan in epoch 2", fields: { step_type: "medium", planner: "llm", kind: "proposal", config_id: "C", fidelity: FID, seed: 42, plan: "Wider model", reason: "more capacity" } },
    { id: "run_0006", params: { ...BASE, "model.activation": "relu", "training.optimizer_class": "optim.AdamW" }, val: 0.35, test: 0.3, fields: { step_type: "radical", planner: "llm", kind: "proposal", config_id: "D", fidelity: FID, seed: 42, plan: "AdamW with relu", reason: "try decoupled decay", evaluation_reason: "performance degraded: -40.0% val_mse vs run_0003" } },
  ];
  const runs = specs.map((s) => {
    const rd = path.join(dir, "runs", s.id);
    fs.mkdirSync(rd, { recursive: true });
    fs.writeFileSync(path.join(rd, "config_used.py"), configText(s.params));
    if (s.failure) {
      fs.writeFileSync(path.join(rd, "failure.json"), JSON.stringify({ status: "diverged", reason: s.failure, epoch: 2 }));
    } else {
      const v = s.val as number;
      const epochs = [1.6, 1.2, 1].map((f, i) => ({ epoch: i + 1, train_mse: v * f * 1.3, val_mse: v * f, val_mae: v, lr: 0.001, seconds: 2, train_seconds: 1.5, train_loss: v }));
      fs.writeFileSync(path.join(rd, "history.json"), JSON.stringify({ best_epoch: 3, epochs }));
      fs.writeFileSync(path.join(rd, "metrics.json"), JSON.stringify({ status: "ok", val_mse: v, test_mse: s.test, test_mae: 0.5, train_mse: v * 1.3, best_epoch: 3, epochs_run: 3, seed: s.fields.seed }));
    }
    return {
      run_id: s.id,
      val_mse: s.val ?? null,
      test_mse: s.test ?? null,
      test_mae: s.val ? 0.5 : null,
      history_summary: null,
      accepted: false,
      config_changes: {},
      status: s.failure ? "diverged" : "ok",
      error: s.failure ? `${s.failure} (epoch 2)` : null,
      params: s.params,
      ...s.fields,
    };
  });
  const state = {
    max_runs: 50,
    best_run_id: "run_0003",
    runs,
    noise: { [FID]: { sd: 0.01, rel_sd: 0.0323, n: 3, mean: 0.31, run_ids: ["run_0000", "run_0001", "run_0002"], config_id: "A" } },
    baselines: { "ETTh1.csv S OT->12 600/300/300": { persistence: { val_mse: 0.45, test_mse: 0.5 }, seasonal_naive: { val_mse: 0.6, test_mse: 0.7 } } },
  };
  fs.writeFileSync(path.join(dir, "agent_state.json"), JSON.stringify(state, null, 2));
  fs.mkdirSync(path.join(dir, ".nas-graph"));
  const costs = [0, 0, 0, 0, 0, 0.005, 0.0075];
  let total = 0;
  const log = specs.map((s, i) => {
    total += costs[i];
    return JSON.stringify({ search_id: "s1", iteration: i + 1, run_id: s.id, timings: { train_s: 10 }, usage_run: { calls: costs[i] ? 1 : 0, input_tokens: 0, output_tokens: 0, cost_usd: costs[i] }, usage_total: { calls: 2, input_tokens: 0, output_tokens: 0, cost_usd: total } });
  });
  fs.writeFileSync(path.join(dir, ".nas-graph", "decisions.jsonl"), log.join("\n") + "\n");
  return dir;
}

/** Pixels of exactly these colours in a PNG (Pillow, which matplotlib installs). */
function colourCounts(png: string, colours: string[]): { distinct: number; counts: Record<string, number> } {
  const script = [
    "import json, sys",
    "from PIL import Image",
    "im = Image.open(sys.argv[1]).convert('RGB')",
    "cols = dict((c, n) for n, c in im.getcolors(1 << 24))",
    "want = [tuple(int(h[i:i + 2], 16) for i in (1, 3, 5)) for h in json.loads(sys.argv[2])]",
    "print(json.dumps({'distinct': len(cols), 'counts': {'#%02x%02x%02x' % w: cols.get(w, 0) for w in want}}))",
  ].join("\n");
  return JSON.parse(execFileSync(PYTHON, ["-c", script, png, JSON.stringify(colours)], { encoding: "utf8" }));
}

describe("report", () => {
  let dir: string;
  let html: string;
  let stdout: string;
  beforeAll(async () => {
    dir = recordedWorkspace();
    const res = await runCli(["report", "--system-dir", dir, "--target-val-mse", "0.2"], { env: cliEnv() });
    expect(res.code, res.stderr).toBe(0);
    stdout = res.stdout;
    html = path.join(dir, "runs", "report.html");
  }, 120_000);
  afterAll(() => removeWorkspace(dir));

  it("writes report.html (self-contained) and report.md, and prints the path", () => {
    expect(stdout.trim()).toBe(`report: ${html}`);
    const text = fs.readFileSync(html, "utf8");
    expect(text).not.toMatch(/<link|<script|src="(?!data:)/); // nothing outside the file
    expect(text.match(/<img src="data:image\/png;base64,/g)).toHaveLength(3);
    const md = fs.readFileSync(path.join(dir, "runs", "report.md"), "utf8");
    for (const f of ["history.png", "curves.png", "keys.png"]) {
      expect(md).toContain(`](report_files/${f})`);
      expect(fs.readFileSync(path.join(dir, "runs", "report_files", f)).subarray(1, 4).toString()).toBe("PNG");
    }
    expect(md).toContain("## Held-out test results (not used for selection)");
    expect(md).toContain("Best config: run_0003, val_mse 0.2550 ± 0.0071 over 2 seeds");
  });

  it("renders in headless Chromium with its tables", () => {
    const dom = execFileSync(chromium(), [...CHROMIUM_FLAGS, "--dump-dom", `file://${html}`], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 90_000 });
    const sections = [...dom.matchAll(/<h2>([^<]+)<\/h2>/g)].map((m) => m[1]);
    expect(sections).toEqual([
      "Summary",
      "Optimization history",
      "Learning curves of the best configs",
      "Searched keys",
      "Best config against the baseline",
      "Decisions",
      "Noise and naive baselines",
      "Held-out test results (not used for selection)",
    ]);
    expect(dom.match(/<table/g)).toHaveLength(5); // best-vs-baseline keys, decisions, noise, naive baselines, held-out
    const decisions = dom.slice(dom.indexOf('<table class="decisions">'), dom.indexOf("</table>", dom.indexOf('<table class="decisions">')));
    const rows = [...decisions.matchAll(/<tr>(.*?)<\/tr>/g)].map((m) => [...m[1].matchAll(/<t[dh]>(.*?)<\/t[dh]>/g)].map((c) => c[1]));
    expect(rows[0]).toEqual(["run", "planner", "step", "plan", "planner's reason", "val_mse", "config mean ± sd (seeds)", "seed", "verdict", "evaluator's reason", "LLM cost"]);
    expect(rows).toHaveLength(8);
    expect(rows[4]).toEqual(["run_0003", "optuna", "proposal", "TPE proposes: lr 0.001 -&gt; 0.003", "Exploration", "0.2500", "0.2550 ± 0.0071 (2)", "42", "accepted", "improvement beyond the noise margin", "$0.0000"]);
    expect(rows[6].slice(0, 3)).toEqual(["run_0005", "llm", "proposal"]);
    expect(rows[6]).toContain("failed (diverged)");
    expect(rows[6]).toContain("$0.0050");
    expect(rows[7]).toContain("rejected");
    expect(rows[7]).toContain("$0.0075");
    // the best config against the baseline: the changed key, and the diff of config_used.py
    expect(dom).toMatch(/<td>training\.optimizer_params\.lr<\/td><td>0\.001<\/td><td>0\.003<\/td>/);
    expect(dom).toMatch(/<span class="add">\+.*"lr": 0\.003/);
    // held out, in its own section, with the statement
    const heldOut = dom.slice(dom.indexOf("Held-out test results"));
    expect(heldOut).toContain("no decision used them");
    expect(heldOut).toContain("Best config (run_0003): test_mse 0.3550 mean over 2 seeds.");
    expect(dom.slice(0, dom.indexOf("Held-out test results"))).not.toMatch(/test_mse(?! \(held out\))/); // test metrics only where labelled
  });

  it("shows its plots: the screenshot has the markers' and lines' colours", () => {
    const shot = path.join(dir, "shot.png");
    execFileSync(chromium(), [...CHROMIUM_FLAGS, "--window-size=1280,5200", `--screenshot=${shot}`, `file://${html}`], { stdio: "ignore", timeout: 90_000 });
    const green = "#2ca02c"; // accepted markers, orange: rejected, red: failed, blue: best so far
    const { distinct, counts } = colourCounts(shot, [green, "#ff7f0e", "#d62728", "#1f77b4", "#ffffff"]);
    expect(distinct).toBeGreaterThan(500); // plots, not a page of text
    for (const [c, n] of Object.entries(counts)) expect(n, `pixels of ${c}`).toBeGreaterThan(40);
  });
});
