#!/usr/bin/env node
/**
 * Helper calls per training (a script, not a test; build first: npm run build).
 * Runs an Optuna search on the tiny config through a stand-in interpreter (NAS_PYTHON) that logs
 * every request sent to `python -m nas_agent serve` and every one-shot `python -m nas_agent CMD`,
 * then prints the calls by command and the calls per training.
 * Usage: node bench/helper-calls.mjs [--iterations N] [--parallel K] [--keep]   (NAS_DATA_DIR defaults to ../shared/data/ETT-small)
 * The stand-in itself is exported for the test that checks the bar (test/helper-calls.test.ts).
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Write a logging stand-in interpreter into `dir`; each helper call appends one JSON line
 * `{"mode": "serve" | "one-shot", "command": ...}` to `log`. Anything else (train.py) runs the real Python.
 */
export function loggingPython(dir, log, real = path.join(REPO, ".venv", "bin", "python")) {
  const file = path.join(dir, "logging-python");
  fs.writeFileSync(file, `#!${real}
import json, os, sys
LOG = ${JSON.stringify(log)}
REAL = ${JSON.stringify(real)}

def command_of(argv):
    from nas_agent.cli import build_parser
    try:
        return build_parser().parse_args(argv).command
    except BaseException:
        return "?"

def note(mode, argv):
    with open(LOG, "a", encoding="utf-8") as f:
        f.write(json.dumps({"mode": mode, "command": command_of(argv)}) + "\\n")

args = sys.argv[1:]
if args[:3] == ["-m", "nas_agent", "serve"]:
    from nas_agent import cli

    def requests():
        for line in sys.stdin:
            try:
                note("serve", json.loads(line)["argv"])
            except Exception:
                note("serve", [])
            yield line

    sys.exit(cli.serve(requests(), sys.stdout))
if args[:2] == ["-m", "nas_agent"]:
    note("one-shot", args[2:])
os.execv(REAL, [REAL] + args)
`, { mode: 0o755 });
  return file;
}

/** Count the log's calls: { total, byCommand, serve, oneShot }. */
export function countCalls(log) {
  const lines = fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l)) : [];
  const byCommand = {};
  for (const l of lines) byCommand[l.command] = (byCommand[l.command] ?? 0) + 1;
  return {
    total: lines.length,
    byCommand: Object.fromEntries(Object.entries(byCommand).sort((a, b) => b[1] - a[1])),
    serve: lines.filter((l) => l.mode === "serve").length,
    oneShot: lines.filter((l) => l.mode === "one-shot").length,
  };
}

function main() {
  const flag = (name, dflt) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? Number(process.argv[i + 1]) : dflt;
  };
  const iterations = flag("--iterations", 10);
  const parallel = flag("--parallel", 1);
  const cli = path.join(REPO, "dist", "cli.js");
  if (!fs.existsSync(cli)) {
    console.error("error: dist/cli.js is missing; run 'npm run build' first");
    process.exit(2);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nas-graph-calls-"));
  for (const name of ["train.py", "model.py", "models", "data.py", "nas_agent"]) {
    fs.cpSync(path.join(REPO, "nas_system", name), path.join(dir, name), { recursive: true, filter: (s) => !s.includes("__pycache__") });
  }
  fs.copyFileSync(path.join(REPO, "test", "fixtures", "tiny_config.py"), path.join(dir, "config.py"));
  fs.copyFileSync(path.join(REPO, "test", "fixtures", "tiny_search_space.json"), path.join(dir, "search_space.json"));
  const log = path.join(dir, "calls.jsonl");
  const env = {
    OMP_NUM_THREADS: "1",
    ...process.env,
    NAS_PYTHON: loggingPython(dir, log),
    NAS_DATA_DIR: process.env.NAS_DATA_DIR ?? path.resolve(REPO, "..", "shared", "data", "ETT-small"),
  };
  delete env.OPENROUTER_API_KEY;
  const args = [cli, "run", "--system-dir", dir, "--planner", "optuna", "--seed", "7", "--evaluator", "rules", "--max-iterations", String(iterations), ...(parallel > 1 ? ["--parallel", String(parallel)] : []), "--json"];
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { env, encoding: "utf8" });
  if (r.status !== 0) {
    console.error(`search failed (exit ${r.status}):\n${r.stderr}`);
    process.exit(1);
  }
  const decisions = fs.readFileSync(path.join(dir, ".nas-graph", "decisions.jsonl"), "utf8").trim().split("\n").length;
  const c = countCalls(log);
  console.log(`optuna search, ${decisions} trainings on the tiny config, --parallel ${parallel} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  console.log(`helper calls: ${c.total} (${c.serve} to nas_agent serve, ${c.oneShot} one-shot) = ${(c.total / decisions).toFixed(2)} per training`);
  console.log(`by command: ${Object.entries(c.byCommand).map(([k, v]) => `${k} ${v}`).join(", ")}`);
  if (process.argv.includes("--keep")) console.log(`workspace kept: ${dir}`);
  else fs.rmSync(dir, { recursive: true, force: true });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
