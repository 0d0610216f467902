/** The trial node alone: a fake executor that writes a run's files (or fails, times out, is stopped), a fake helper. */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { UserError } from "../../src/errors.js";
import { trialNode } from "../../src/graph/nodes/trial.js";
import { type Trial, type TrialInput, type TrialResult } from "../../src/graph/state.js";
import { runConfigRel, trialConfigRel, writeJsonAtomic, type Workspace } from "../../src/workspace-paths.js";
import { fakeDeps, fakeExecutor, fakeHelper, opt, refusal, SEARCH_ID, silentUi, START_CONFIG, tempWorkspaces, trial, update, type Training } from "./fakes.js";

const workspace = tempWorkspaces();

function input(t: Trial): TrialInput {
  return { trial: t, search_id: SEARCH_ID, slot: 1 };
}

/** The search's options the trial reads (GraphDeps.options): --max-epochs 3, --run-timeout, --parallel 2. */
const options = (timeout: number | null = null) => ({ maxEpochs: 3, runTimeoutS: timeout, parallel: 2 });

/** Run the node on one trial with an executor that trains as `training` says. */
async function runTrial(ws: Workspace, t: Trial, training: Training, opts: { timeout?: number | null; stale?: boolean; signal?: AbortSignal } = {}) {
  const { py, calls } = fakeHelper(ws, {
    "config-apply": (a) => {
      fs.writeFileSync(opt(a, "--config")!, "lr = 0.002\n"); // the helper writes the trial's config
      return { diff: "-lr = 0.001\n+lr = 0.002" };
    },
  });
  const { ui, of } = silentUi();
  const exec = fakeExecutor(ws, () => training, { adopt: null, stale: opts.stale ?? false });
  const deps = fakeDeps(py, ui, { options: options(opts.timeout ?? null), executor: exec.executor, ...(opts.signal ? { signal: opts.signal } : {}) });
  const out = await update(trialNode(input(t), deps));
  const result = out.results![t.run_id] as TrialResult;
  return { result, calls, jobs: exec.jobs, of };
}

const attempt = (ws: Workspace, runId: string) => JSON.parse(fs.readFileSync(path.join(ws.meta, "attempts", `${runId}.json`), "utf8"));

describe("trial node", () => {
  it("writes the config rendered while planning, trains it and reports the run ok (no helper request)", async () => {
    const ws = workspace();
    const t = trial("run_0002", { rendered: { text: "lr = 0.002\n", diff: "+lr = 0.002" }, seed: 7 });
    const { result, calls, jobs, of } = await runTrial(ws, t, { ok: 0.25 });

    expect(calls).toEqual([]);
    expect(fs.readFileSync(path.join(ws.dir, trialConfigRel("run_0002")), "utf8")).toBe("lr = 0.002\n");
    expect(jobs).toEqual([{ runId: "run_0002", searchId: SEARCH_ID, configPath: trialConfigRel("run_0002"), seed: 7, maxEpochs: 3, timeoutS: null, slot: 1 }]);
    expect(result).toMatchObject({ run_id: "run_0002", run_status: "ok", run_error: null, training_success: true, diff: "+lr = 0.002", train_s: 1.5 });
    expect(of("diff")).toEqual([["+lr = 0.002"]]);
    expect(of("training-end")).toEqual([["run_0002"]]);
    expect(attempt(ws, "run_0002")).toMatchObject({ run_id: "run_0002", timeout_s: null, started_at_ms: expect.any(Number) });
  });

  it("asks the helper to write a proposal it did not render: config-apply of the changes on the trial's base", async () => {
    const ws = workspace();
    const t = trial("run_0002");
    const { result, calls } = await runTrial(ws, t, { ok: 0.25 });
    expect(calls).toEqual([{
      command: "config-apply",
      args: ["--base", path.join(ws.dir, t.base), "--config", path.join(ws.dir, trialConfigRel("run_0002")), "--changes", JSON.stringify(t.config_changes)],
    }]);
    expect(result).toMatchObject({ run_status: "ok", diff: "-lr = 0.001\n+lr = 0.002" });
  });

  it("a change the helper refuses is an invalid run, never trained", async () => {
    const ws = workspace();
    const { py, calls } = fakeHelper(ws, { "config-apply": refusal("lr out of range", ["training.optimizer_params.lr: 5 > 0.1"]) });
    const { ui, of } = silentUi();
    const exec = fakeExecutor(ws, () => ({ ok: 0.2 }));
    const out = await update(trialNode(input(trial("run_0003")), fakeDeps(py, ui, { options: options(), executor: exec.executor })));
    expect(calls).toHaveLength(1);
    expect(exec.jobs).toEqual([]);
    expect(out.results!.run_0003).toMatchObject({ run_status: "invalid", training_success: false, run_error: "lr out of range; training.optimizer_params.lr: 5 > 0.1" });
    expect(of("warn")[0][0]).toMatch(/config change rejected: lr out of range/);
  });

  it("a repeat trains a byte copy of its config with its own seed; a missing one is an invalid run", async () => {
    const ws = workspace();
    fs.mkdirSync(path.join(ws.runs, "run_0001"), { recursive: true });
    fs.writeFileSync(path.join(ws.dir, runConfigRel("run_0001")), "lr = 0.003 # as trained\n");
    const rep = trial("run_0004", { kind: "repeat", repeat_of: "run_0001", seed: 44, base: runConfigRel("run_0001"), config_changes: [] });
    const { result, calls, jobs } = await runTrial(ws, rep, { ok: 0.3 });
    expect(calls).toEqual([]);
    expect(fs.readFileSync(path.join(ws.dir, trialConfigRel("run_0004")), "utf8")).toBe("lr = 0.003 # as trained\n");
    expect(jobs[0].seed).toBe(44);
    expect(result).toMatchObject({ run_status: "ok", diff: "" });

    const lost = await runTrial(ws, { ...rep, run_id: "run_0005", base: runConfigRel("run_0009") }, { ok: 0.3 });
    expect(lost.jobs).toEqual([]);
    expect(lost.result).toMatchObject({ run_status: "invalid", run_error: expect.stringMatching(/run_0009.*is missing/) });
  });

  it.each([
    ["diverged", { exit: 3, failure: { status: "diverged", reason: "non-finite loss at epoch 2" } }, "non-finite loss at epoch 2"],
    ["crashed", { exit: 1, tail: ["epoch 1", "RuntimeError: out of memory", ""] }, "RuntimeError: out of memory"],
    ["invalid", { exit: 2, tail: ["config error: model.d_model must be even"] }, "bad config: config error: model.d_model must be even"],
    ["crashed", { exit: 0 }, "train.py exited 0 but wrote no metrics.json"],
  ] as Array<[string, Training, string]>)("a failed training is a %s result, not an exception (%j)", async (status, training, error) => {
    const ws = workspace();
    const { result } = await runTrial(ws, trial("run_0002", { rendered: { text: "x = 1\n", diff: "" } }), training);
    expect(result).toMatchObject({ run_status: status, run_error: error, training_success: false });
  });

  it("a training stopped by --run-timeout is a timeout result", async () => {
    const ws = workspace();
    const { result, jobs } = await runTrial(ws, trial("run_0002", { rendered: { text: "x = 1\n", diff: "" } }), { timeout: true }, { timeout: 5 });
    expect(jobs[0].timeoutS).toBe(5);
    expect(result).toMatchObject({ run_status: "timeout", run_error: "training exceeded --run-timeout 5s", training_success: false });
    expect(attempt(ws, "run_0002")).toMatchObject({ timeout_s: 5, stopped: { verdict: "timeout", at_ms: expect.any(Number) } });
  });

  it("Ctrl-C during training fails the node with exit code 130 and records the executor's verdict", async () => {
    const ws = workspace();
    const ctrlC = new AbortController();
    const run = runTrial(ws, trial("run_0002", { rendered: { text: "x = 1\n", diff: "" } }), { ctrlC }, { signal: ctrlC.signal });
    await expect(run).rejects.toBeInstanceOf(UserError);
    await expect(run).rejects.toMatchObject({ exitCode: 130, message: expect.stringMatching(/interrupted during training.*resume/) });
    expect(attempt(ws, "run_0002").stopped).toMatchObject({ verdict: "interrupted", at_ms: expect.any(Number) });
  });

  it("reuses a run an interrupted attempt finished, without training it again", async () => {
    const ws = workspace();
    fs.mkdirSync(path.join(ws.runs, "run_0002"), { recursive: true });
    fs.writeFileSync(path.join(ws.runs, "run_0002", "metrics.json"), "{}");
    const { result, jobs, calls, of } = await runTrial(ws, trial("run_0002"), { ok: 0.1 });
    expect(jobs).toEqual([]);
    expect(calls).toEqual([]);
    expect(result).toMatchObject({ run_status: "ok", training_success: true, train_s: 0 });
    expect(of("notice")[0][0]).toMatch(/run_0002 already finished/);
  });

  it("finds the timeout of an earlier attempt from the executor's verdict in its record; an older record without one retrains", async () => {
    const ws = workspace();
    for (const runId of ["run_0002", "run_0003"]) {
      fs.mkdirSync(path.join(ws.runs, runId), { recursive: true });
      fs.writeFileSync(path.join(ws.runs, runId, "failure.json"), JSON.stringify({ status: "interrupted", reason: "SIGTERM" }));
    }
    const started = Date.now() - 10_000; // failure.json long after the deadline: its time decides nothing
    writeJsonAtomic(path.join(ws.meta, "attempts", "run_0002.json"), { run_id: "run_0002", started_at_ms: started, timeout_s: 5, stopped: { verdict: "timeout", at_ms: started + 5000 } });
    writeJsonAtomic(path.join(ws.meta, "attempts", "run_0003.json"), { run_id: "run_0003", started_at_ms: started, timeout_s: 5 });
    const timedOut = await runTrial(ws, trial("run_0002"), { ok: 0.1 });
    expect(timedOut.jobs).toEqual([]);
    expect(timedOut.result).toMatchObject({ run_status: "timeout", run_error: "training exceeded --run-timeout 5s" });
    const older = await runTrial(ws, trial("run_0003", { rendered: { text: "x = 1\n", diff: "" } }), { ok: 0.1 });
    expect(older.jobs).toHaveLength(1);
    expect(older.result.run_status).toBe("ok");
  });

  it("sets aside an incomplete run dir (or a stale attempt's failure) and trains the run again", async () => {
    const ws = workspace();
    for (const [runId, file] of [["run_0002", "config_used.py"], ["run_0003", "failure.json"]]) {
      fs.mkdirSync(path.join(ws.runs, runId), { recursive: true });
      fs.writeFileSync(path.join(ws.runs, runId, file), file === "failure.json" ? JSON.stringify({ status: "crashed", reason: "orphan" }) : START_CONFIG);
    }
    const half = await runTrial(ws, trial("run_0002", { rendered: { text: "x = 1\n", diff: "" } }), { ok: 0.2 });
    const stale = await runTrial(ws, trial("run_0003", { rendered: { text: "x = 1\n", diff: "" } }), { ok: 0.2 }, { stale: true });
    for (const r of [half, stale]) {
      expect(r.jobs).toHaveLength(1);
      expect(r.result.run_status).toBe("ok");
      expect(r.of("notice")[0][0]).toMatch(/moved the incomplete run_000\d .* to \.nas-graph\/aborted\/run_000\d-\d+; retraining it/);
    }
    expect(fs.readdirSync(path.join(ws.meta, "aborted")).map((d) => d.split("-")[0]).sort()).toEqual(["run_0002", "run_0003"]);
  });
});
