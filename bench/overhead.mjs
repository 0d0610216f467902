#!/usr/bin/env node
/**
 * Orchestration overhead of nas-graph (a script, not a test; build first: npm run build).
 *   (a) start time of `node dist/cli.js --help`, median of 10            bar < 300 ms, goal 150 ms
 *   (b) mock searches on the tiny config (stand-in planner, rules evaluator, real trainings), a short
 *       and a long one, each --repeat times; medians over the repeats:
 *       - per iteration, steady state = the slope between the two lengths:
 *         ((wall - training)_long - (wall - training)_short) / (long - short)      goal < 200 ms
 *         (how Optuna / Ray Tune state a per-trial overhead: what one more iteration costs);
 *       - per iteration, read from the long search's decision log: the time between two rounds'
 *         ends minus that round's training, over its middle rounds (neither the first, which pays
 *         the helper's first record and study, nor the last, which pays the closing);
 *       - once per search = the intercept: (wall - training)_short - short x slope (CLI start,
 *         begin-search with the pre-flight's train.py --check, the first record's naive
 *         baselines and study, the closing);
 *       - the old figure, (wall - training) / iterations, for each length (what earlier notes quote);
 *       - inside the graph's nodes, per iteration: first round and middle rounds, per node.
 *   Training time is the wall time of each train.py process (torch import included), from the decision log.
 * Usage: node bench/overhead.mjs [--short 3] [--long 9] [--repeat 3] [--repo DIR]
 *   (--repo: measure another checkout, built, with this script; NAS_DATA_DIR defaults to ../shared/data/ETT-small)
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const opt = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const REPO = path.resolve(opt("repo", path.join(path.dirname(fileURLToPath(import.meta.url)), "..")));
const CLI = path.join(REPO, "dist", "cli.js");
const SHORT = Number(opt("short", 3));
const LONG = Number(opt("long", 9));
const REPEAT = Number(opt("repeat", 3));
const NODES = ["planner_s", "trial_s", "evaluator_s", "update_s"];

if (!fs.existsSync(CLI)) {
  console.error(`error: ${CLI} is missing; run 'npm run build' first`);
  process.exit(2);
}
if (!(SHORT >= 1 && LONG >= SHORT + 1 && REPEAT >= 1)) {
  console.error("error: need --short >= 1, --long > --short and --repeat >= 1");
  process.exit(2);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const ms = (x) => `${Math.round(x).toLocaleString("en-US")} ms`;
const load = () => os.loadavg()[0].toFixed(1);

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

function tinyWorkspace(iterations) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nas-graph-bench-"));
  for (const name of ["train.py", "model.py", "models", "data.py", "nas_agent"]) {
    fs.cpSync(path.join(REPO, "nas_system", name), path.join(dir, name), { recursive: true, filter: (s) => !s.includes("__pycache__") });
  }
  fs.copyFileSync(path.join(REPO, "test", "fixtures", "tiny_config.py"), path.join(dir, "config.py"));
  fs.copyFileSync(path.join(REPO, "test", "fixtures", "tiny_search_space.json"), path.join(dir, "search_space.json"));
  const planner = Array.from({ length: iterations }, (_, i) => ({
    step_type: "small",
    plan: `lr ${(0.0002 * (i + 1)).toPrecision(2)}`,
    reason: "bench",
    config_changes: [{ key: "training.optimizer_params.lr", value: Number((0.0002 * (i + 1)).toPrecision(2)) }],
  }));
  fs.writeFileSync(path.join(dir, "mock.json"), JSON.stringify({ planner }));
  return dir;
}

function mockSearch(iterations) {
  const dir = tinyWorkspace(iterations);
  // One torch thread: on a busy 2-core machine torch's default threads make tiny trainings
  // up to 10x slower (training time is subtracted anyway, but the run takes minutes).
  const env = { OMP_NUM_THREADS: "1", ...process.env, NAS_DATA_DIR: process.env.NAS_DATA_DIR ?? path.resolve(REPO, "..", "shared", "data", "ETT-small") };
  delete env.OPENROUTER_API_KEY;
  const args = [CLI, "run", "--system-dir", dir, "--planner", "mock", "--mock-file", path.join(dir, "mock.json"), "--evaluator", "rules", "--max-iterations", String(iterations), "--json"];
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { env, encoding: "utf8" });
  const wallS = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`mock search failed:\n${r.stderr}`);
  const log = fs.readFileSync(path.join(dir, ".nas-graph", "decisions.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  fs.rmSync(dir, { recursive: true, force: true });
  if (log.length !== iterations) throw new Error(`mock search trained ${log.length} runs, not ${iterations}`);
  const llmOf = (e) => (e.timings.planner_llm_s ?? 0) + (e.timings.evaluator_llm_s ?? 0);
  const sum = (f) => log.reduce((a, e) => a + (f(e) ?? 0), 0);
  const train = sum((e) => e.timings.train_s);
  const llm = sum(llmOf);
  // the middle rounds: end of round k-1 to end of round k, less round k's training
  const middle = log.slice(1, -1).map((e, i) => (Date.parse(e.at) - Date.parse(log[i].at)) / 1000 - e.timings.train_s - llmOf(e));
  const nodesOf = (e) => Object.fromEntries(NODES.map((f) => [f, (e.timings[f] ?? 0) - (f === "trial_s" ? e.timings.train_s : 0)]));
  return { iterations, wallS, train, overheadS: wallS - train - llm, middle, first: nodesOf(log[0]), middleNodes: log.slice(1, -1).map(nodesOf) };
}

const nodeLine = (per) => `${ms(NODES.reduce((a, f) => a + per[f], 0) * 1000)} (${NODES.map((f) => `${f.replace("_s", "")} ${ms(per[f] * 1000)}`).join(", ")})`;
const medianNodes = (list) => Object.fromEntries(NODES.map((f) => [f, median(list.map((n) => n[f]))]));

console.log(`nas-graph at ${REPO}; load ${os.loadavg().map((x) => x.toFixed(1)).join(" ")} (${os.cpus().length} cores) at ${new Date().toISOString()}`);
const help = helpStart();
console.log(`(a) nas-graph --help start: median of 10 = ${ms(help)}  (bar < 300 ms, goal 150 ms) ${help < 300 ? "PASS" : "FAIL"}`);
const shorts = [];
const longs = [];
for (let i = 0; i < REPEAT; i++) {
  for (const [n, into] of [[SHORT, shorts], [LONG, longs]]) {
    const m = mockSearch(n);
    into.push(m);
    console.log(`    repeat ${i + 1}, ${n} iterations: wall ${m.wallS.toFixed(1)} s, training ${m.train.toFixed(1)} s, overhead ${m.overheadS.toFixed(1)} s (load ${load()})`);
  }
}
const slopes = shorts.map((s, i) => (longs[i].overheadS - s.overheadS) / (LONG - SHORT));
const slope = median(slopes);
const once = median(shorts.map((s, i) => s.overheadS - SHORT * slopes[i]));
const middle = median(longs.flatMap((m) => m.middle));
console.log(`(b) mock searches on the tiny config, ${SHORT} and ${LONG} iterations, ${REPEAT} of each (medians):`);
console.log(`    per iteration, steady state (slope ${SHORT} -> ${LONG} iterations) = ${ms(slope * 1000)}  [each repeat: ${slopes.map((s) => ms(s * 1000)).join(", ")}]  (goal < 200 ms) ${slope < 0.2 ? "PASS" : "FAIL"}`);
console.log(`    per iteration, middle rounds of the ${LONG}-iteration searches (round end to round end, less training) = ${ms(middle * 1000)}`);
console.log(`    once per search (intercept: CLI start, begin-search + pre-flight, the first record and study, the closing) = ${ms(once * 1000)}`);
for (const [n, list] of [[SHORT, shorts], [LONG, longs]]) {
  console.log(`    old figure, (wall - training) / iterations, ${n} iterations = ${ms(median(list.map((m) => m.overheadS / n)) * 1000)}`);
}
console.log(`    inside nodes, first round: ${nodeLine(medianNodes([...shorts, ...longs].map((m) => m.first)))}`);
console.log(`    inside nodes, per middle round: ${nodeLine(medianNodes(longs.flatMap((m) => m.middleNodes)))}`);
