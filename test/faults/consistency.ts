/**
 * The fault suite's check after a fault and its resume: each finished run recorded once, run ids
 * unique and consecutive, the budget exact, one decision per run, no process left that names the
 * workspace, config.py the incumbent's config, the lock released.
 */
import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { expect } from "vitest";
import { readAgentState, REPO } from "../helpers/workspace.js";

const PYTHON = path.join(REPO, ".venv", "bin", "python");

export function configId(dir: string, file: string): string {
  const out = execFileSync(PYTHON, ["-m", "nas_agent", "--system-dir", dir, "config-id", "--config", file], {
    env: { ...process.env, PYTHONPATH: path.join(REPO, "nas_system") }, encoding: "utf8",
  });
  return JSON.parse(out).config_id;
}

/** Processes whose command line names the workspace (trainings, helpers) still alive. */
function leftovers(dir: string): string[] {
  const out: string[] = [];
  for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
      const state = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0];
      // (the background Optuna mirror, `nas_agent ... study`, may still be finishing its write)
      if (cmd.includes(dir) && state !== "Z" && !/nas_agent .* study\s*$/.test(cmd)) out.push(`${pid}: ${cmd}`);
    } catch {
      /* gone */
    }
  }
  return out;
}

/** After the resume: each finished run once, unique ids, the budget exact, no orphan, config.py on the incumbent. */
export function checkConsistent(dir: string, budget: number, deletedByHand: string[] = []): number {
  const state = readAgentState(dir);
  const ids = state.runs.map((r) => r.run_id);
  expect(new Set(ids).size).toBe(ids.length);
  expect(ids).toEqual(Array.from({ length: budget }, (_, i) => `run_${String(i).padStart(4, "0")}`));
  for (const r of state.runs.filter((x) => x.status === "ok" && !deletedByHand.includes(x.run_id))) {
    expect(fs.existsSync(path.join(dir, "runs", r.run_id, "metrics.json")), r.run_id).toBe(true);
  }
  const parses = (l: string) => {
    try {
      return JSON.parse(l) as { run_id: string };
    } catch {
      return null; // a torn line a fault left (the product skips it)
    }
  };
  const log = fs.readFileSync(path.join(dir, ".nas-graph", "decisions.jsonl"), "utf8").split("\n").map(parses).filter((d) => d !== null);
  expect(log.map((d) => d.run_id)).toEqual(ids); // one decision per run, none twice
  expect(leftovers(dir)).toEqual([]);
  expect(state.best_run_id).not.toBeNull();
  expect(configId(dir, path.join(dir, "config.py"))).toBe(configId(dir, path.join(dir, "runs", state.best_run_id!, "config_used.py")));
  expect(fs.existsSync(path.join(dir, ".nas-graph", "lock"))).toBe(false);
  return budget - ids.length;
}

