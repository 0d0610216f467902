#!/usr/bin/env node
/**
 * Orchestration overhead of nas-graph (a script, not a test; build first: npm run build).
 *   (a) start time of `node dist/cli.js --help`, median of 10       bar < 300 ms, goal 150 ms
 *   (b) per-iteration overhead of a mock search on the tiny config   bar < 1 s,    goal 200 ms
 *       = (CLI wall time - training time - LLM time) / iterations, where training time is
 *       the wall time of each train.py process (torch import included) from the decision log.
 * Usage: node bench/overhead.mjs [--iterations N]   (NAS_DATA_DIR defaults to ../shared/data/ETT-small)
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const CLI = path.join(REPO, "dist", "cli.js");
const argIdx = process.argv.indexOf("--iterations");
const ITERATIONS = argIdx > 0 ? Number(process.argv[argIdx + 1]) : 4;

if (!fs.existsSync(CLI)) {
  console.error("error: dist/cli.js is missing; run 'npm run build' first");
  process.exit(2);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x) => `${x.toFixed(0)} ms`;

function helpStart() {
  const times = [];
  for (let i = 0; i < 10; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [CLI, "--help"], { stdio: "ignore" });
    if (r.status !== 0) throw new Error("nas-graph --help failed");
    times.push(performance.now() - t0);
  }
  return median(times);
}

function tinyWorkspace() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nas-graph-bench-"));
  for (const name of ["train.py", "model.py", "models", "data.py", "nas_agent"]) {
    fs.cpSync(path.join(REPO, "nas_system", name), path.join(dir, name), { recursive: true, filter: (s) => !s.includes("__pycache__") });
  }
  fs.copyFileSync(path.join(REPO, "test", "fixtures", "tiny_config.py"), path.join(dir, "config.py"));
  fs.copyFileSync(path.join(REPO, "test", "fixtures", "tiny_search_space.json"), path.join(dir, "search_space.json"));
  const lrs = [0.001, 0.0005, 0.002, 0.0003, 0.0008, 0.0015, 0.0002, 0.003];
  const planner = lrs.map((lr) => ({
    step_type: "small",
    plan: `lr ${lr}`,
    reason: "bench",
    config_changes: [{ key: "training.optimizer_params.lr", value: lr }],
  }));
  fs.writeFileSync(path.join(dir, "mock.json"), JSON.stringify({ planner }));
  return dir;
}

function mockSearch() {
  const dir = tinyWorkspace();
  // One torch thread: on a busy 2-core machine torch's default threads make tiny trainings
  // up to 10x slower (training time is subtracted anyway, but the run takes minutes).
  const env = { OMP_NUM_THREADS: "1", ...process.env, NAS_DATA_DIR: process.env.NAS_DATA_DIR ?? path.resolve(REPO, "..", "shared", "data", "ETT-small") };
  delete env.OPENROUTER_API_KEY;
  const args = [CLI, "run", "--system-dir", dir, "--planner", "mock", "--mock-file", path.join(dir, "mock.json"), "--evaluator", "rules", "--max-iterations", String(ITERATIONS), "--json"];
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { env, encoding: "utf8" });
  const wallS = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`mock search failed:\n${r.stderr}`);
  const log = fs.readFileSync(path.join(dir, ".nas-graph", "decisions.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  fs.rmSync(dir, { recursive: true, force: true });
  const sum = (f) => log.reduce((a, e) => a + (e.timings[f] ?? 0), 0);
  const train = sum("train_s");
  const llm = sum("planner_llm_s") + sum("evaluator_llm_s");
  // one decision-log entry per training; trial_s is that training's node (train.py included)
  const nodes = sum("planner_s") + sum("trial_s") + sum("evaluator_s") + sum("update_s");
  return {
    iterations: log.length,
    wallS,
    train,
    llm,
    perIterationMs: ((wallS - train - llm) / log.length) * 1000,
    nodeOverheadMs: ((nodes - train - llm) / log.length) * 1000,
    perNodeMs: Object.fromEntries(
      ["planner_s", "trial_s", "evaluator_s", "update_s"].map((f) => [f, ((sum(f) - (f === "trial_s" ? train : 0)) / log.length) * 1000]),
    ),
  };
}

const help = helpStart();
console.log(`(a) nas-graph --help start: median of 10 = ${ms(help)}  (bar < 300 ms, goal 150 ms) ${help < 300 ? "PASS" : "FAIL"}`);
const m = mockSearch();
console.log(
  `(b) mock search, ${m.iterations} iterations on the tiny config: wall ${m.wallS.toFixed(1)} s, training ${m.train.toFixed(1)} s, LLM ${m.llm.toFixed(1)} s`,
);
console.log(
  `    overhead per iteration = ${ms(m.perIterationMs)} (CLI start + graph + checkpoints + Python helpers; bar < 1 s, goal 200 ms) ${m.perIterationMs < 1000 ? "PASS" : "FAIL"}`,
);
console.log(
  `    inside nodes: ${ms(m.nodeOverheadMs)} per iteration (${Object.entries(m.perNodeMs).map(([k, v]) => `${k.replace("_s", "")} ${ms(v)}`).join(", ")})`,
);
