/**
 * Issue 9 regressions, each through the real CLI (node dist/cli.js) on a tiny workspace:
 * the user's config.py is trained as a new baseline (9.1), review answers are checked (9.2),
 * --seed is validated (9.5), the lock, the decision log and timeouts survive crashes (9.8),
 * and a Python without the requirements is caught up front (9.10).
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { cliEnv, makeWorkspace, readAgentState, REPO, removeWorkspace, runCli, startCli, writeMockScript } from "./helpers/workspace.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeWorkspace(d);
});
const workspace = (edit?: (c: string) => string) => {
  const d = makeWorkspace(edit);
  dirs.push(d);
  return d;
};
const read = (f: string) => fs.readFileSync(f, "utf8");
const lastLine = (s: string) => s.trim().split("\n").pop() ?? "";
const DROPOUT = { step_type: "small", plan: "Less dropout", reason: "underfits", config_changes: [{ key: "model.dropout", value: 0.1 }] };

describe("9.5 --seed", () => {
  it("refuses a seed outside 0..2**32-1 with a usage error before touching the workspace", async () => {
    const dir = workspace();
    for (const bad of ["-1", "4294967296", "1.5", "12abc"]) {
      const res = await runCli(["run", "--system-dir", dir, "--planner", "optuna", "--seed", bad]);
      expect(res.code, `${bad}: ${res.stderr}`).toBe(2);
      expect(res.stderr.split("\n")[0]).toBe(`error: option '--seed <n>' argument '${bad}' is invalid. --seed takes an integer from 0 to 4294967295`);
    }
    expect(fs.existsSync(path.join(dir, ".nas-graph"))).toBe(false);
  });
});

describe("9.10 the Python interpreter", () => {
  let bare: string;
  let tmp: string;
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "nas-graph-py-"));
    // a venv with no packages: what a new user's system python looks like
    execFileSync(path.join(REPO, ".venv", "bin", "python"), ["-m", "venv", "--without-pip", path.join(tmp, "venv")]);
    bare = path.join(tmp, "venv", "bin", "python");
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("stops before any training with one line naming the interpreter, the packages and the fix", async () => {
    const dir = workspace();
    const res = await runCli(["run", "--system-dir", dir, "--planner", "optuna", "--max-iterations", "1"], { env: cliEnv({ NAS_PYTHON: bare }) });
    expect(res.code, res.stderr).toBe(2);
    expect(lastLine(res.stderr)).toBe(
      `error: the Python at ${bare} lacks the packages torch, numpy, pandas, matplotlib, optuna that nas_system needs: run 'bash scripts/setup.sh' (creates .venv) or set NAS_PYTHON to a Python with nas_system/requirements.txt installed`,
    );
    expect(res.stderr).not.toMatch(/epoch|baseline/);
    expect(fs.existsSync(path.join(dir, "runs"))).toBe(false);
    expect(fs.existsSync(path.join(dir, "agent_state.json"))).toBe(false);
  });

  it("says 'please report it' once for an internal error of nas_agent", async () => {
    const dir = workspace();
    const fake = path.join(tmp, "buggy-python");
    // a helper (nas_agent serve) that answers every request with nas_agent's internal-error shape
    const answer = `{"id": req["id"], "exit": 1, "result": {"ok": False, "error": "internal error in nas_agent (ValueError: boom); please report it"}}`;
    const body = `import json, sys\nfor line in sys.stdin:\n    req = json.loads(line)\n    print(json.dumps(${answer}), flush=True)\n`;
    fs.writeFileSync(fake, `#!/usr/bin/env python3\n${body}`, { mode: 0o755 });
    const res = await runCli(["run", "--system-dir", dir, "--planner", "optuna"], { env: cliEnv({ NAS_PYTHON: fake }) });
    expect(res.code).toBe(1);
    expect(lastLine(res.stderr)).toBe("error: nas_agent begin-search failed: internal error in nas_agent (ValueError: boom); please report it");
    expect(res.stderr.match(/please report it/g)).toHaveLength(1);
  });

  it("is checked by resume too, before the search continues", async () => {
    const dir = workspace();
    const paused = await runCli(["run", "--system-dir", dir, "--planner", "optuna", "--max-iterations", "1", "--run-timeout", "0.5", "--review"]);
    expect(paused.code, paused.stderr).toBe(0);
    const noPy = await runCli(["resume", "--reject", "--system-dir", dir], { env: cliEnv({ NAS_PYTHON: bare }) });
    expect(noPy.code).toBe(2);
    expect(lastLine(noPy.stderr)).toMatch(/^error: the Python at .* lacks the packages torch, .* run 'bash scripts\/setup.sh'/);
    expect(readAgentState(dir).runs.map((r) => r.evaluation_reason)).toEqual(["verdict pending"]); // the review answer was not taken
  });
});

describe("9.2 review of a failed run", () => {
  it("refuses --accept with one line; the pause stays and --reject answers it", async () => {
    const dir = workspace();
    // the baseline times out: a failed run waits for review
    const paused = await runCli(["run", "--system-dir", dir, "--planner", "optuna", "--max-iterations", "1", "--run-timeout", "0.5", "--review", "--json"]);
    expect(paused.code, paused.stderr).toBe(0);
    const review = JSON.parse(paused.stdout).pending_review;
    expect(review.verdict).toMatchObject({ accept: false, status: "timeout" });

    const accept = await runCli(["resume", "--accept", "--system-dir", dir]);
    expect(accept.code).toBe(2);
    expect(accept.stderr.trim()).toBe(`error: cannot accept ${review.run_id}: its training ended with status timeout; answer with 'nas-graph resume --reject'`);
    expect(readAgentState(dir).runs.map((r) => [r.accepted, r.evaluation_reason])).toEqual([[false, "verdict pending"]]); // still paused

    const reject = await runCli(["resume", "--reject", "--system-dir", dir, "--json"]);
    expect(reject.code, reject.stderr).toBe(0);
    expect(JSON.parse(reject.stdout)).toMatchObject({ status: "finished", iterations: 1, best_run_id: null });
    expect(readAgentState(dir).runs).toMatchObject([{ run_id: review.run_id, status: "timeout", accepted: false }]);
  });
});

describe("9.1 a new run and the user's config.py", () => {
  it("trains an edited config.py as a new baseline, then plans from it; a seed-only edit is no change", async () => {
    const dir = workspace();
    const mock = writeMockScript(dir, [DROPOUT]);
    const args = ["run", "--system-dir", dir, "--planner", "mock", "--mock-file", mock, "--baseline-seeds", "1"];
    const first = await runCli([...args, "--max-iterations", "1"]);
    expect(first.code, first.stderr).toBe(0);
    const [r0] = readAgentState(dir).runs;
    expect(read(path.join(dir, "config.py"))).toBe(read(path.join(dir, "runs", r0.run_id, "config_used.py")));

    // the user edits config.py by hand: a faster lr and a tighter gradient clip
    const edited = read(path.join(dir, "config.py")).replace('"lr": 5e-05', '"lr": 0.001').replace('"grad_clip": 1.0', '"grad_clip": 0.5');
    fs.writeFileSync(path.join(dir, "config.py"), edited);
    const second = await runCli([...args, "--max-iterations", "2", "--json"]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(
      new RegExp(`baseline: config.py differs from the incumbent ${r0.run_id}'s config; config.py is trained first`),
    );
    const [, r1, r2] = readAgentState(dir).runs;
    expect(r1).toMatchObject({ step_type: "baseline", status: "ok", accepted: true });
    expect(String(r1.evaluation_reason)).toMatch(/^baseline: first successful run/);
    expect(read(path.join(dir, "runs", r1.run_id, "config_used.py"))).toBe(edited);
    // the proposal applies to the new incumbent (the user's config, which beats lr 5e-05 by far)
    expect(readAgentState(dir).best_run_id).not.toBe(r0.run_id);
    expect(r2).toMatchObject({ planner: "mock", config_changes: { "model.dropout": 0.1 } });
    const proposed = read(path.join(dir, "runs", r2.run_id, "config_used.py"));
    expect(proposed).toContain('"lr": 0.001');
    expect(proposed).toContain('"grad_clip": 0.5');
    const best = readAgentState(dir).best_run_id!;
    expect(read(path.join(dir, "config.py"))).toBe(read(path.join(dir, "runs", best, "config_used.py")));

    // a different seed is the same config: no new baseline (the script's next change: one not tried yet)
    fs.writeFileSync(path.join(dir, "config.py"), read(path.join(dir, "config.py")).replace("seed = 42", "seed = 7"));
    const next = writeMockScript(dir, [{ ...DROPOUT, config_changes: [{ key: "model.dropout", value: 0.15 }] }]);
    const third = await runCli(["run", "--system-dir", dir, "--planner", "mock", "--mock-file", next, "--max-iterations", "1"]);
    expect(third.code, third.stderr).toBe(0);
    expect(third.stderr).not.toMatch(/differs from the incumbent/);
    expect(readAgentState(dir).runs[3]).toMatchObject({ planner: "mock" });
  });
});

describe("9.8 races and losses", () => {
  it("lets only one of two processes take over the same stale lock", async () => {
    const dir = workspace();
    const mock = writeMockScript(dir, [DROPOUT]);
    fs.mkdirSync(path.join(dir, ".nas-graph"));
    fs.writeFileSync(path.join(dir, ".nas-graph", "lock"), JSON.stringify({ pid: 2 ** 22 + 4321, started_at: "then", command: "run" }));
    // both takers find the stale lock, then pause before taking it: the race window, held open
    const env = cliEnv({ NAS_TEST_LOCK_TAKEOVER_DELAY_MS: "1500" });
    const args = ["run", "--system-dir", dir, "--planner", "mock", "--mock-file", mock, "--max-iterations", "1"];
    const [a, b] = await Promise.all([runCli(args, { env }), runCli(args, { env })]);
    const codes = [a.code, b.code].sort();
    expect(codes, `${a.stderr}\n---\n${b.stderr}`).toEqual([0, 3]);
    const loser = a.code === 3 ? a : b;
    expect(lastLine(loser.stderr)).toMatch(/^error: workspace .* is busy: 'run' \(pid \d+, started .*\) holds .*lock; wait for it/);
    expect(readAgentState(dir).runs).toHaveLength(1);
    expect(fs.readdirSync(path.join(dir, ".nas-graph")).filter((f) => f.startsWith("lock"))).toEqual([]);
  });

  it("starts each decision-log entry on a fresh line and skips a torn line with a warning", async () => {
    const dir = workspace();
    const mock = writeMockScript(dir, [DROPOUT]);
    const args = ["run", "--system-dir", dir, "--planner", "mock", "--mock-file", mock, "--max-iterations", "1"];
    expect((await runCli(args)).code).toBe(0);
    const log = path.join(dir, ".nas-graph", "decisions.jsonl");
    fs.appendFileSync(log, '{"search_id": "search-x", "iteration": 3, "run'); // a writer killed mid-line
    const res = await runCli(args);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(/warning: skipped a torn line 2 of .*decisions.jsonl/);
    const lines = read(log).split("\n");
    expect(lines[1]).toBe('{"search_id": "search-x", "iteration": 3, "run');
    const entries = [lines[0], lines[2]].map((l) => JSON.parse(l));
    expect(entries.map((e) => e.run_id)).toEqual(readAgentState(dir).runs.map((r) => r.run_id));
    expect(lines[3]).toBe("");
  });

  it("never retrains a run that timed out, even when the CLI died before recording it", async () => {
    // many epochs: the training is still running at the timeout, which leaves train.py (torch
    // import, data) time to start even on a busy machine
    const dir = workspace((c) => c.replace('"max_epochs": 2,', '"max_epochs": 100000,').replace('"patience": 2,', '"patience": 100000,'));
    const cli = startCli(["run", "--system-dir", dir, "--planner", "optuna", "--max-iterations", "1", "--run-timeout", "30"]);
    await cli.waitFor(/run_0000 epoch 1\//);
    await cli.waitFor(/\] .*interrupted in epoch \d+/); // train.py wrote failure.json "interrupted" on the timeout's SIGTERM
    process.kill(cli.child.pid!, "SIGKILL"); // the CLI dies before the executor's result is checkpointed
    await cli.done;
    const failure = JSON.parse(read(path.join(dir, "runs", "run_0000", "failure.json")));
    expect(failure.status).toBe("interrupted");

    const res = await runCli(["resume", "--system-dir", dir, "--json"]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(/resuming search \S+ at trial/);
    expect(res.stderr).toMatch(/run_0000 already finished in an interrupted attempt; reusing its results/);
    expect(res.stderr).not.toMatch(/moved the incomplete|\] epoch 1\//);
    expect(readAgentState(dir).runs).toMatchObject([{ run_id: "run_0000", status: "timeout", accepted: false }]);
    expect(fs.existsSync(path.join(dir, ".nas-graph", "aborted"))).toBe(false);
  });
});
