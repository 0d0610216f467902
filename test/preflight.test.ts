/**
 * The pre-flight of run, resume and demo (src/preflight.ts, train.py --check), through the real CLI:
 * a missing data file or an unknown family stops the command before anything is recorded, with
 * exactly one error line and exit 2: no runs/, no agent_state.json, no search, no checkpoint.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cliEnv, makeWorkspace, readAgentState, removeWorkspace, runCli } from "./helpers/workspace.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeWorkspace(d);
});

function workspace(edit?: (c: string) => string): string {
  const dir = makeWorkspace(edit);
  dirs.push(dir);
  return dir;
}

function emptyFolder(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nas-graph-nodata-"));
  dirs.push(dir);
  return dir;
}

const bogusFamily = (c: string) => c.replace('"family": "informer"', '"family": "bogus"');

/** The error lines of a command's output (stdout and stderr). */
function errorLines(res: { stdout: string; stderr: string }): string[] {
  return `${res.stdout}\n${res.stderr}`.split("\n").filter((l) => /error/i.test(l));
}

function expectNothingRecorded(dir: string): void {
  expect(fs.existsSync(path.join(dir, "runs")), "runs/").toBe(false);
  expect(fs.existsSync(path.join(dir, "agent_state.json")), "agent_state.json").toBe(false);
  expect(fs.existsSync(path.join(dir, ".nas-graph", "search.json")), "search.json").toBe(false);
  expect(fs.existsSync(path.join(dir, ".nas-graph", "searches")), "start config").toBe(false);
  expect(fs.existsSync(path.join(dir, ".nas-graph", "checkpoints.sqlite")), "checkpoints").toBe(false);
}

describe("pre-flight", () => {
  it("run: NAS_DATA_DIR without the data file stops before anything is recorded, one line, exit 2", async () => {
    const dir = workspace();
    const empty = emptyFolder();
    const res = await runCli(["run", "--system-dir", dir, "--planner", "optuna", "--max-iterations", "1"], { env: cliEnv({ NAS_DATA_DIR: empty }) });
    expect(res.code, res.stderr).toBe(2);
    const errors = errorLines(res);
    expect(errors, res.stderr).toHaveLength(1);
    expect(errors[0]).toMatch(/^error: cannot start a search: data file .*ETTh1\.csv does not exist; .*NAS_DATA_DIR is set to /);
    expect(errors[0]).toContain(path.join(empty, "ETTh1.csv"));
    expect(res.stderr).not.toMatch(/search search-|baseline:|Traceback/);
    expectNothingRecorded(dir);
  }, 120_000);

  it("run: an unknown model.family stops before anything is recorded, one line, exit 2", async () => {
    const dir = workspace(bogusFamily);
    const res = await runCli(["run", "--system-dir", dir, "--planner", "optuna", "--max-iterations", "1"], { env: cliEnv() });
    expect(res.code, res.stderr).toBe(2);
    const errors = errorLines(res);
    expect(errors, res.stderr).toHaveLength(1);
    expect(errors[0]).toMatch(/^error: cannot start a search: model\.family is 'bogus'; it must be one of /);
    expectNothingRecorded(dir);
  }, 120_000);

  it("run: a search_space.json that does not parse stops before anything is recorded, one line naming the file", async () => {
    const dir = workspace();
    fs.writeFileSync(path.join(dir, "search_space.json"), '{"params": {');
    const res = await runCli(["run", "--system-dir", dir, "--planner", "optuna", "--max-iterations", "1"], { env: cliEnv() });
    expect(res.code, res.stderr).toBe(2);
    const errors = errorLines(res);
    expect(errors, res.stderr).toHaveLength(1);
    expect(errors[0]).toBe(`error: cannot start a search: search space ${path.join(dir, "search_space.json")} is not valid JSON (line 1: Expecting property name enclosed in double quotes): fix the file`);
    expectNothingRecorded(dir);
  }, 120_000);

  it("demo: a NAS_DATA_DIR without the file fails once and removes the demo folder, so demo runs again", async () => {
    const parent = emptyFolder();
    const dir = path.join(parent, "demo");
    const empty = emptyFolder();
    const res = await runCli(["demo", "--dir", dir, "--max-iterations", "1", "--max-epochs", "1"], { env: cliEnv({ NAS_DATA_DIR: empty }) });
    expect(res.code, res.stderr).toBe(2);
    const errors = errorLines(res);
    expect(errors, res.stderr).toHaveLength(1);
    expect(errors[0]).toMatch(/^error: cannot start a search: NAS_DATA_DIR is set to .* but .*ETTh1\.csv is missing; put ETTh1\.csv there, or unset NAS_DATA_DIR/);
    expect(fs.existsSync(dir)).toBe(false);
    // the second attempt is not refused with "already exists"
    const again = await runCli(["demo", "--dir", dir, "--max-iterations", "1", "--max-epochs", "1"], { env: cliEnv({ NAS_DATA_DIR: empty }) });
    expect(again.code).toBe(2);
    expect(again.stderr).not.toMatch(/already exists/);
    expect(fs.existsSync(dir)).toBe(false);
  }, 180_000);

  it("resume: a config.py broken during a paused search stops at the pre-flight and changes nothing", async () => {
    const dir = workspace();
    const paused = await runCli(["run", "--system-dir", dir, "--planner", "optuna", "--baseline-seeds", "1", "--max-iterations", "2", "--review"], { env: cliEnv() });
    expect(paused.code, paused.stderr).toBe(0);
    const search = fs.readFileSync(path.join(dir, ".nas-graph", "search.json"), "utf8");
    const state = fs.readFileSync(path.join(dir, "agent_state.json"), "utf8");
    const runs = fs.readdirSync(path.join(dir, "runs")).sort();
    fs.writeFileSync(path.join(dir, "config.py"), bogusFamily(fs.readFileSync(path.join(dir, "config.py"), "utf8")));
    const res = await runCli(["resume", "--system-dir", dir, "--reject", "--max-cost-usd", "1"], { env: cliEnv() });
    expect(res.code, res.stderr).toBe(2);
    const errors = errorLines(res);
    expect(errors, res.stderr).toHaveLength(1);
    expect(errors[0]).toMatch(/^error: cannot start a search: model\.family is 'bogus'/);
    expect(res.stderr).not.toMatch(/resuming search|LLM cost cap/);
    expect(fs.readFileSync(path.join(dir, ".nas-graph", "search.json"), "utf8")).toBe(search);
    expect(fs.readFileSync(path.join(dir, "agent_state.json"), "utf8")).toBe(state);
    expect(fs.readdirSync(path.join(dir, "runs")).sort()).toEqual(runs);
    expect(readAgentState(dir).runs).toHaveLength(1);

    // a search space broken while paused: one line naming the file and the fix, nothing changed
    fs.copyFileSync(path.join(dir, "runs", runs[0], "config_used.py"), path.join(dir, "config.py"));
    fs.writeFileSync(path.join(dir, "search_space.json"), JSON.stringify({ params: { "model.d_model": { type: "int", low: 8, high: 64 } } }));
    const space = await runCli(["resume", "--system-dir", dir, "--reject"], { env: cliEnv() });
    expect(space.code, space.stderr).toBe(2);
    expect(errorLines(space), space.stderr).toHaveLength(1);
    expect(errorLines(space)[0]).toMatch(/^error: cannot start a search: search space .*search_space\.json is invalid: params\['model\.d_model'\]\.step must be one of small, medium, radical \(fix the file; its format is in docs\/contracts\.md/);
    expect(fs.readFileSync(path.join(dir, "agent_state.json"), "utf8")).toBe(state);
    expect(fs.readFileSync(path.join(dir, ".nas-graph", "search.json"), "utf8")).toBe(search);
  }, 240_000);
});
