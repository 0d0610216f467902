/**
 * State faults (issue 18, families 5 and 7) on one workspace, one after another, with the
 * stand-in trainer (the faults are about state, not training): a torn decisions.jsonl line and a
 * stale lock of a dead process, two runs at once, a run folder deleted by hand, a config.py with
 * a syntax error, a full disk on a write of agent_state.json (K = 2 in flight), and the Python
 * helper SIGKILLed mid-search.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliEnv, makeWorkspace, readAgentState, removeWorkspace, runCli } from "../helpers/workspace.js";
import { fakeTrainingPython } from "../helpers/stand-ins.js";
import { checkConsistent } from "./consistency.js";
import { record } from "./ledger.js";

let dir: string;
let env: NodeJS.ProcessEnv;
const meta = (...p: string[]) => path.join(dir, ".nas-graph", ...p);
const run = (n: number, extra: string[] = [], e: NodeJS.ProcessEnv = env) =>
  runCli(["run", "--system-dir", dir, "--planner", "optuna", "--portfolio", "off", "--baseline-seeds", "1", "--max-iterations", String(n), ...extra], { env: e });
const ids = () => readAgentState(dir).runs.map((r) => r.run_id);
const noTrace = (stderr: string) => expect(stderr).not.toMatch(/Traceback|\n\s+at /);

beforeAll(async () => {
  dir = makeWorkspace();
  env = cliEnv({ NAS_PYTHON: fakeTrainingPython(dir, { hash_default: true }) });
  const res = await run(2);
  expect(res.code, res.stderr).toBe(0);
}, 120_000);
afterAll(() => removeWorkspace(dir));

describe.sequential("state faults on one workspace", () => {
  it("a torn decisions.jsonl line and a stale lock of a dead process: the next run goes on", async () => {
    fs.appendFileSync(meta("decisions.jsonl"), '{"search_id": "s", "iteration": 3, "run_id": "run_00');
    fs.writeFileSync(meta("lock"), JSON.stringify({ pid: 999_999_999, started_at: "2026-01-01T00:00:00Z", command: "run" }) + "\n");
    const res = await run(2);
    expect(res.code, res.stderr).toBe(0);
    noTrace(res.stderr);
    expect(res.stderr).toContain("taking over a stale lock from pid 999999999 (run, started 2026-01-01T00:00:00Z)");
    const lines = fs.readFileSync(meta("decisions.jsonl"), "utf8").split("\n").filter(Boolean);
    const parsed = lines.filter((l) => { try { JSON.parse(l); return true; } catch { return false; } }).map((l) => JSON.parse(l));
    expect(parsed.map((d) => d.run_id)).toEqual(["run_0000", "run_0001", "run_0002", "run_0003"]); // the torn line swallowed nothing
    expect(fs.existsSync(meta("lock"))).toBe(false);
    record({ name: "state/torn-decisions-line", survived: true, runsLost: 4 - ids().length, executed: 0 });
    record({ name: "state/stale-lock-dead-pid", survived: true, runsLost: 0, executed: 0 });
  });

  it("two runs at once: one runs, the other is refused with one line naming the holder", async () => {
    const [a, b] = await Promise.all([run(1), run(1)]);
    const [busy, ran] = a.code === 3 ? [a, b] : [b, a];
    expect(ran.code, ran.stderr).toBe(0);
    expect(busy.code, busy.stderr).toBe(3);
    const errors = busy.stderr.split("\n").filter((l) => l.startsWith("error:"));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^error: workspace .* is busy: 'run' \(pid \d+, started .*\) holds .*lock; wait for it to finish or stop it first$/);
    noTrace(busy.stderr);
    expect(ids()).toEqual(["run_0000", "run_0001", "run_0002", "run_0003", "run_0004"]);
    record({ name: "state/two-runs-at-once", survived: true, runsLost: 5 - ids().length, executed: 0 });
  });

  it("a run folder deleted by hand: the next run neither fails nor reuses its id", async () => {
    fs.rmSync(path.join(dir, "runs", "run_0002"), { recursive: true });
    const res = await run(1);
    expect(res.code, res.stderr).toBe(0);
    noTrace(res.stderr);
    const now = ids();
    expect(now).toEqual(["run_0000", "run_0001", "run_0002", "run_0003", "run_0004", "run_0005"]); // its record kept, its id not reused
    record({ name: "state/run-folder-deleted", survived: true, runsLost: 6 - now.length, executed: 0 });
  });

  it("config.py with a syntax error between two searches: one line with the line number; nothing recorded", async () => {
    const good = fs.readFileSync(path.join(dir, "config.py"), "utf8");
    const lines = good.split("\n");
    const at = lines.findIndex((l) => l.includes('"batch_size"'));
    lines[at] = lines[at].replace(/: (\d+)/, ": $1 $1"); // "batch_size": 32 32,
    fs.writeFileSync(path.join(dir, "config.py"), lines.join("\n"));
    try {
      const res = await run(1);
      expect(res.code, res.stderr).toBe(2);
      const errors = res.stderr.split("\n").filter((l) => l.startsWith("error:"));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(new RegExp(`config\\.py.*line ${at + 1}\\b`));
      noTrace(res.stderr);
      expect(ids()).toHaveLength(6);
    } finally {
      fs.writeFileSync(path.join(dir, "config.py"), good);
    }
    record({ name: "state/config-syntax-error", survived: true, runsLost: 6 - ids().length, executed: 0 });
  });

  it("a full disk on a write of agent_state.json with 2 in flight: one line, the file intact, resume finishes", async () => {
    const res = await run(4, ["--parallel", "2"], { ...env, NAS_TEST_FULL_DISK_AFTER: "7" });
    expect(res.code, res.stderr).toBe(2);
    const errors = res.stderr.split("\n").filter((l) => l.startsWith("error:"));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/agent_state\.json \(No space left on device\); free disk space .* then 'nas-graph resume'/);
    noTrace(res.stderr);
    expect(ids().length).toBeLessThanOrEqual(7); // the last good file, parsed
    const done = await runCli(["resume", "--system-dir", dir, "--json"], { env });
    expect(done.code, done.stderr).toBe(0);
    record({ name: "crash/full-disk-agent-state", survived: true, runsLost: checkConsistent(dir, 10, ["run_0002"]), executed: 0 });
  });

  it("the Python helper SIGKILLed during a record: started again, the request sent once more, nothing lost", async () => {
    const once = path.join(dir, "helper-killed");
    const res = await run(2, ["--parallel", "2"], { ...env, NAS_TEST_KILL_HELPER_AT: "record-runs:1", NAS_TEST_KILL_HELPER_ONCE: once });
    expect(res.code, res.stderr).toBe(0);
    expect(fs.existsSync(once)).toBe(true); // it did die
    noTrace(res.stderr);
    record({ name: "crash/helper-sigkill", survived: true, runsLost: checkConsistent(dir, 12, ["run_0002"]), executed: 0 });
  });
});
