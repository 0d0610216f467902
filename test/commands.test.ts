/** The lock, status (--json), override (best changes, config.py follows) and review (pause + answer). */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LR_DECISION, makeWorkspace, readAgentState, removeWorkspace, runCli, writeMockScript } from "./helpers/workspace.js";

const read = (f: string) => fs.readFileSync(f, "utf8");

describe("status, override and the lock on a finished search", () => {
  let dir: string;
  beforeAll(async () => {
    dir = makeWorkspace();
    const mock = writeMockScript(dir, [LR_DECISION]);
    const res = await runCli(["run", "--system-dir", dir, "--planner", "mock", "--mock-file", mock, "--baseline-seeds", "1", "--max-iterations", "2"]);
    expect(res.code, res.stderr).toBe(0);
  }, 180_000);
  afterAll(() => removeWorkspace(dir));

  it("status --json lists the runs and where the best config is", async () => {
    const res = await runCli(["status", "--system-dir", dir, "--json"]);
    expect(res.code, res.stderr).toBe(0);
    const s = JSON.parse(res.stdout);
    const state = readAgentState(dir);
    expect(s.runs.map((r: { run_id: string }) => r.run_id)).toEqual(state.runs.map((r) => r.run_id));
    expect(s.runs[0]).toMatchObject({ accepted: true, status: "ok", step_type: "baseline" });
    expect(s.best).toMatchObject({ run_id: state.best_run_id, config: path.join("runs", state.best_run_id!, "config_used.py") });
    expect(s.search.status).toBe("finished");

    const human = await runCli(["status", "--system-dir", dir]);
    // one fidelity at a time: its line first, then the table
    expect(human.stdout).toMatch(/^fidelity ETTh1\.csv S OT->12 600\/300\/300.*\n/);
    expect(human.stdout).toMatch(/^run\s+step\s+planner\s+val_mse\s+Δ best\s+test_mse \(held out\)\s+verdict\s+plan\n/m);
    expect(human.stdout).toContain(`config: runs/${state.best_run_id}/config_used.py`);

    // the naive baselines of the task, recorded once and shown (test labelled held out)
    const task = "ETTh1.csv S OT->12 600/300/300";
    expect(Object.keys(s.baselines)).toEqual([task]);
    const naive = s.baselines[task];
    expect(naive.period).toBe(24);
    expect(human.stdout).toMatch(
      /naive baselines on ETTh1\.csv S OT->12 600\/300\/300: persistence val_mse=0\.\d+ \(held-out test_mse=0\.\d+\); seasonal naive, period 24: val_mse=0\.\d+/,
    );
    // the tiny Informer baseline (2 epochs at lr 5e-5) is far worse than persistence, and its verdict says so
    expect(state.runs[0].val_mse!).toBeGreaterThan(naive.persistence.val_mse * 2);
    expect(state.runs[0].evaluation_reason).toMatch(/^baseline: first successful run .*; val_mse \d\.\d{4} is worse than persistence \(repeating the last value: 0\.\d{4}\) on this task$/);
  });

  it("override moves the best run and config.py follows; the lock guards it", async () => {
    const before = readAgentState(dir);
    const [baseline, second] = before.runs.map((r) => r.run_id);
    expect(before.best_run_id).toBe(second); // lr 1e-3 beats the baseline by far on the tiny task
    const cfg = (id: string) => read(path.join(dir, "runs", id, "config_used.py"));

    const rej = await runCli(["override", second, "--reject", "--system-dir", dir, "--json"]);
    expect(rej.code, rej.stderr).toBe(0);
    expect(JSON.parse(rej.stdout)).toMatchObject({ best_run_id: baseline, previous_best_run_id: second });
    expect(readAgentState(dir).best_run_id).toBe(baseline);
    expect(read(path.join(dir, "config.py"))).toBe(cfg(baseline));

    // a live holder: refused with a one-line error and exit 3
    const lock = path.join(dir, ".nas-graph", "lock");
    fs.writeFileSync(lock, JSON.stringify({ pid: process.pid, started_at: "now", command: "run" }));
    const busy = await runCli(["override", second, "--accept", "--system-dir", dir]);
    expect(busy.code).toBe(3);
    expect(busy.stderr.trim()).toMatch(/^error: workspace .* is busy: 'run' \(pid \d+, started now\) holds .*lock; wait for it/);
    expect(readAgentState(dir).best_run_id).toBe(baseline);

    // a dead holder: taken over with a notice
    fs.writeFileSync(lock, JSON.stringify({ pid: 2 ** 22 + 12345, started_at: "then", command: "run" }));
    const acc = await runCli(["override", second, "--accept", "--system-dir", dir]);
    expect(acc.code, acc.stderr).toBe(0);
    expect(acc.stderr).toMatch(/taking over a stale lock/);
    expect(readAgentState(dir).best_run_id).toBe(second);
    expect(read(path.join(dir, "config.py"))).toBe(cfg(second));
    expect(fs.existsSync(lock)).toBe(false);
  });

  it("rejects bad usage with one-line errors", async () => {
    const both = await runCli(["override", "run_0001", "--accept", "--reject", "--system-dir", dir]);
    expect(both.code).toBe(2);
    expect(both.stderr.trim()).toBe("error: pass exactly one of --accept and --reject");
    const unknown = await runCli(["override", "run_9999", "--accept", "--system-dir", dir]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim().split("\n")).toHaveLength(1);
    expect(unknown.stderr).toMatch(/^error: .*run_9999/);
    const noDir = await runCli(["status", "--system-dir", path.join(dir, "nope")]);
    expect(noDir.code).toBe(2);
    expect(noDir.stderr).toMatch(/^error: workspace .*nope does not exist; pass --system-dir/);
    const badPlanner = await runCli(["run", "--system-dir", dir, "--planner", "gpt"]);
    expect(badPlanner.code).toBe(2);
    expect(badPlanner.stderr.trim()).toMatch(/^error: unknown --planner 'gpt'; use one of llm, mock/);

    const badNumber = await runCli(["run", "--system-dir", dir, "--max-iterations", "abc"]);
    expect(badNumber.code).toBe(2);
    expect(badNumber.stderr).toMatch(/^error: option '--max-iterations <n>' argument 'abc' is invalid\. --max-iterations takes a number/);

    const broken = makeWorkspace((c) => c + "\ndata = {\n");
    try {
      const res = await runCli(["run", "--system-dir", broken, "--planner", "optuna"]);
      expect(res.code).toBe(2);
      expect(res.stderr.trim().split("\n").pop()).toMatch(/^error: cannot start a search: config .*config.py is not valid Python/);
      expect(fs.existsSync(path.join(broken, "agent_state.json"))).toBe(false);
    } finally {
      removeWorkspace(broken);
    }
  });
});

describe("review", () => {
  let dir: string;
  beforeAll(() => {
    dir = makeWorkspace();
  });
  afterAll(() => removeWorkspace(dir));

  it("run --review pauses after each evaluation; resume --accept / --reject answer it", async () => {
    const mock = writeMockScript(dir, [LR_DECISION]);
    const paused = await runCli(["run", "--system-dir", dir, "--planner", "mock", "--mock-file", mock, "--baseline-seeds", "1", "--max-iterations", "2", "--review", "--json"]);
    expect(paused.code, paused.stderr).toBe(0);
    const summary = JSON.parse(paused.stdout);
    expect(summary.status).toBe("paused");
    expect(summary.pending_review).toMatchObject({ verdict: { accept: true } });
    expect(summary.pending_review.metrics.val_mse).toBeGreaterThan(0);
    const first = summary.pending_review.run_id as string;
    // the finished run is on file at once; its verdict waits for the answer
    expect(readAgentState(dir).runs.map((r) => [r.run_id, r.accepted, r.evaluation_reason])).toEqual([[first, false, "verdict pending"]]);

    const bare = await runCli(["resume", "--system-dir", dir]);
    expect(bare.code).toBe(2);
    expect(bare.stderr.trim()).toBe(`error: ${first} is waiting for review; answer with 'nas-graph resume --accept', '--reject' or '--repeat' (train it again with a new seed)`);

    const accepted = await runCli(["resume", "--accept", "--system-dir", dir, "--json"]);
    expect(accepted.code, accepted.stderr).toBe(0);
    const again = JSON.parse(accepted.stdout);
    expect(again.status).toBe("paused"); // the second iteration ran and waits for its review
    const second = again.pending_review.run_id as string;
    expect(second).not.toBe(first);
    expect(readAgentState(dir).runs.map((r) => [r.run_id, r.accepted])).toEqual([[first, true], [second, false]]); // second: pending

    const rejected = await runCli(["resume", "--reject", "--system-dir", dir, "--json"]);
    expect(rejected.code, rejected.stderr).toBe(0);
    expect(JSON.parse(rejected.stdout)).toMatchObject({ status: "finished", iterations: 2, best_run_id: first });
    const state = readAgentState(dir);
    expect(state.runs.map((r) => [r.run_id, r.accepted])).toEqual([[first, true], [second, false]]);
    expect(String(state.runs[0].evaluation_reason)).toMatch(/^manual review: accepted/);
    expect(String(state.runs[1].evaluation_reason)).toMatch(/^manual review: rejected/);
    // rejected: config.py is back on the incumbent
    expect(read(path.join(dir, "config.py"))).toBe(read(path.join(dir, "runs", first, "config_used.py")));

    const late = await runCli(["resume", "--accept", "--system-dir", dir]);
    expect(late.code).toBe(0);
    expect(late.stderr).toMatch(/nothing to resume/);
  });
});
