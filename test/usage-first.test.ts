/**
 * Every usage error before any other output (issue 15): a bad option value of run, demo, resume,
 * ensemble, report or status is one `error:` line on stderr, nothing on stdout, nothing before it,
 * exit 2, and nothing created. No training runs here: each command stops at its option checks.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "./helpers/workspace.js";

const parent = fs.mkdtempSync(path.join(os.tmpdir(), "nas-graph-usage-"));
afterAll(() => fs.rmSync(parent, { recursive: true, force: true }));
const missing = path.join(parent, "no-such-workspace");
// a workspace `run` accepts (config.py and a train.py), which a usage error must leave untouched
const ws = path.join(parent, "ws");
fs.mkdirSync(ws);
fs.copyFileSync(path.join(import.meta.dirname, "..", "nas_system", "config.py"), path.join(ws, "config.py"));
fs.writeFileSync(path.join(ws, "train.py"), "");

const CASES: Array<[string, string[], RegExp]> = [
  ["demo --max-iterations 0", ["demo", "--dir", path.join(parent, "d1"), "--max-iterations", "0"], /^error: --max-iterations must be a positive integer \(got 0\)$/],
  ["demo --max-epochs 0", ["demo", "--dir", path.join(parent, "d2"), "--max-epochs", "0"], /^error: --max-epochs must be a positive integer \(got 0\)$/],
  ["demo --planner mock", ["demo", "--dir", path.join(parent, "d3"), "--planner", "mock"], /^error: unknown --planner 'mock' for the demo; use one of llm, optuna, random, llm\+optuna$/],
  ["demo --planner llm without a key", ["demo", "--dir", path.join(parent, "d4"), "--planner", "llm"], /^error: no LLM is configured: OPENROUTER_API_KEY is not set; .* --planner optuna$/],
  ["resume --accept --reject", ["resume", "--system-dir", missing, "--accept", "--reject"], /^error: pass only one of --accept, --reject and --repeat$/],
  ["resume --max-cost-usd 0", ["resume", "--system-dir", missing, "--max-cost-usd", "0"], /^error: --max-cost-usd must be a positive number of US dollars \(got 0\)$/],
  ["resume --evaluator maybe", ["resume", "--system-dir", missing, "--evaluator", "maybe"], /^error: unknown --evaluator 'maybe'; use llm or rules$/],
  ["run --accept-above 0 --reject-below 1", ["run", "--system-dir", ws, "--accept-above", "0", "--reject-below", "1"], /^error: the accept threshold \(0%\) is below the reject threshold \(1%\); raise it or lower the other$/],
  ["run --default-rel-sd 2", ["run", "--system-dir", ws, "--default-rel-sd", "2"], /^error: --default-rel-sd must be a fraction in \(0, 1\), e\.g\. 0\.1 \(got 2\)$/],
  ["ensemble --steps 0", ["ensemble", "--system-dir", missing, "--steps", "0"], /^error: --steps must be a positive integer \(got 0\)$/],
  ["report --target-val-mse x", ["report", "--system-dir", missing, "--target-val-mse", "x"], /^error: option '--target-val-mse <x>' argument 'x' is invalid\. --target-val-mse takes a number$/],
  ["status --bogus", ["status", "--system-dir", missing, "--bogus"], /^error: unknown option '--bogus'$/],
];

describe("usage errors come first", () => {
  it.each(CASES)("%s", async (_name, args, line) => {
    const res = await runCli(args);
    expect(res.code, res.stderr).toBe(2);
    expect(res.stdout).toBe("");
    const lines = res.stderr.split("\n").filter((l) => l !== "" && !l.startsWith("(run with --help"));
    expect(lines, res.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(line);
  });

  it("demo creates no folder on a usage error, and run writes nothing in the workspace", () => {
    for (const d of ["d1", "d2", "d3", "d4"]) expect(fs.existsSync(path.join(parent, d)), d).toBe(false);
    expect(fs.readdirSync(ws).sort()).toEqual(["config.py", "train.py"]);
  });
});
