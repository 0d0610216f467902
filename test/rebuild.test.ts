/**
 * `nas-graph rebuild` through the real CLI: after a search, agent_state.json (and its .bak) is
 * deleted, `status` names the fix, and the state rebuilt from runs/*\/ and the decision log equals
 * the original (runs, verdicts, seeds, config ids, fidelity, incumbent, noise, baselines, ensemble).
 * A corrupt file is rebuilt and kept aside; a readable one is rebuilt only with --force.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crashingPython } from "./helpers/stand-ins.js";
import { LR_DECISION, cliEnv, makeWorkspace, removeWorkspace, runCli, writeMockScript } from "./helpers/workspace.js";

type State = Record<string, unknown> & { runs: Array<Record<string, unknown>> };

let dir: string;
let original: State;
const statePath = () => path.join(dir, "agent_state.json");
const readState = (): State => JSON.parse(fs.readFileSync(statePath(), "utf8"));
/** The state without what a rebuild cannot know: when each run was first recorded, when the ensemble was selected, and when config.py was written. */
function comparable(s: State): State {
  const runs = s.runs.map(({ created_at: _c, ...r }) => r);
  const ensembles = Object.fromEntries(Object.entries((s.ensembles ?? {}) as Record<string, Record<string, unknown>>).map(([k, { created_at: _e, ...e }]) => [k, e]));
  const { at: _w, ...written } = (s.config_written ?? {}) as Record<string, unknown>;
  return { ...s, runs, ensembles, config_written: written };
}

beforeAll(async () => {
  dir = makeWorkspace();
  // seed 43 (the baseline's second seed) dies as an OOM would: a logged run with no metrics.json or failure.json
  const env = cliEnv({ NAS_PYTHON: crashingPython(dir, [43]) });
  const mock = writeMockScript(dir, [LR_DECISION]);
  const res = await runCli(["run", "--system-dir", dir, "--planner", "mock", "--mock-file", mock, "--baseline-seeds", "3", "--alpha", "0.45", "--max-repeats", "0", "--max-iterations", "4"], { env });
  expect(res.code, res.stderr).toBe(0);
  original = readState();
}, 240_000);

afterAll(() => removeWorkspace(dir));

describe("nas-graph rebuild", () => {
  it("rebuilds a deleted agent_state.json equal to the original", async () => {
    expect(original.runs.map((r) => r.status)).toEqual(["ok", "crashed", "ok", "ok"]);
    fs.rmSync(statePath());
    fs.rmSync(`${statePath()}.bak`, { force: true });
    const status = await runCli(["status", "--system-dir", dir]);
    expect(status.code).toBe(2);
    expect(status.stderr.trim()).toBe(`error: no agent_state.json in ${dir}, but runs/ holds 4 run folders: rebuild it from the runs with 'nas-graph rebuild --system-dir ${dir}'`);

    const res = await runCli(["rebuild", "--system-dir", dir]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(new RegExp(`^rebuilt ${statePath()}: 4 runs \\(4 from the decision log\\), best run ${original.best_run_id}, fidelity `));
    expect(res.stdout).toMatch(/^ensemble of \d+ runs? \(weights chosen on val\)/m);
    const rebuilt = readState();
    expect(comparable(rebuilt)).toEqual(comparable(original));
    // the fields the issue names, spelled out
    expect(rebuilt.runs.map((r) => [r.run_id, r.accepted, r.kind, r.seed, r.fidelity])).toEqual(original.runs.map((r) => [r.run_id, r.accepted, r.kind, r.seed, r.fidelity]));
    expect([rebuilt.best_run_id, rebuilt.fidelity]).toEqual([original.best_run_id, original.fidelity]);
    const after = await runCli(["status", "--system-dir", dir, "--json"]);
    expect(after.code, after.stderr).toBe(0);
    expect(JSON.parse(after.stdout).runs).toHaveLength(4);
  });

  it("rebuilds a corrupt file (kept aside), refuses a readable one without --force, and leaves an unjudged run pending", async () => {
    fs.writeFileSync(statePath(), "{ torn");
    fs.rmSync(`${statePath()}.bak`, { force: true });
    const status = await runCli(["status", "--system-dir", dir]);
    expect(status.code).toBe(2);
    expect(status.stderr).toContain(`rebuild it from the runs with 'nas-graph rebuild --system-dir ${dir}'`);

    const res = await runCli(["rebuild", "--system-dir", dir]);
    expect(res.code, res.stderr).toBe(0);
    expect(fs.readFileSync(`${statePath()}.before-rebuild`, "utf8")).toBe("{ torn");
    expect(comparable(readState())).toEqual(comparable(original));

    const refused = await runCli(["rebuild", "--system-dir", dir]);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim()).toMatch(/^error: .*agent_state\.json is readable \(4 runs\): nothing to rebuild; pass --force/);

    // the last run was recorded but the search stopped before its decision was logged
    const log = path.join(dir, ".nas-graph", "decisions.jsonl");
    const lines = fs.readFileSync(log, "utf8").trim().split("\n");
    fs.writeFileSync(log, lines.slice(0, -1).join("\n") + "\n");
    const forced = await runCli(["rebuild", "--system-dir", dir, "--force"]);
    expect(forced.code, forced.stderr).toBe(0);
    const last = original.runs[3].run_id as string;
    expect(forced.stdout).toContain(`verdict pending (no decision logged, not accepted): ${last}`);
    const pending = readState().runs[3];
    expect(pending).toMatchObject({ run_id: last, accepted: false, status: "ok", val_mse: original.runs[3].val_mse });
    expect(String(pending.evaluation_reason)).toMatch(/^verdict pending/);
  });
});
