/**
 * Noise-aware verdicts through the real CLI: the baseline's seeds measure the noise, a candidate
 * inside the noise margin is trained again with new seeds before its verdict (repeats count
 * against the budget), one far outside it is accepted at once. The verdicts are under test, not
 * the training: trainings run the torch-free stand-in (test/helpers/fake_train.py) with scripted
 * val_mse and seed noise.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { fakeTrainingPython } from "./helpers/stand-ins.js";
import { cliEnv, LR_DECISION, readAgentState, runCli, tempWorkspaces, writeMockScript } from "./helpers/workspace.js";

const workspace = tempWorkspaces();

function decisions(dir: string): Array<Record<string, unknown>> {
  return fs.readFileSync(path.join(dir, ".nas-graph", "decisions.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
}

describe("noise-aware verdicts", () => {
  it("measures the noise on the baseline's seeds and repeats a candidate inside the margin before its verdict", async () => {
    const dir = workspace();
    // baseline 0.3, the candidate's lr 0.001 3% better, 1% seed noise (seeds 42 to 44)
    const env = cliEnv({ NAS_PYTHON: fakeTrainingPython(dir, { default: 0.3, by_lr: { "0.001": 0.291 }, rel: { "43": 0.01, "44": -0.01 } }) });
    const mock = writeMockScript(dir, [LR_DECISION]);
    // a false-accept rate so small that the candidate's gain stays inside the margin: repeats, then the case is open
    const args = ["--baseline-seeds", "2", "--max-repeats", "2", "--alpha", "1e-9", "--max-iterations", "5", "--json"];
    const res = await runCli(["run", "--system-dir", dir, "--planner", "mock", "--mock-file", mock, ...args], { env });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toContain("acceptance: means over seeds; the baseline's 2 seeds measure the seed noise");

    const state = readAgentState(dir);
    const runs = state.runs as Array<Record<string, unknown>>;
    expect(runs.map((r) => r.kind)).toEqual(["baseline", "baseline", "proposal", "repeat", "repeat"]);
    expect(runs.map((r) => r.seed)).toEqual([42, 43, 42, 43, 44]);
    const [b0, b1, p0, p1, p2] = runs;
    expect(b1.repeat_of).toBe(b0.run_id);
    expect([p1.repeat_of, p2.repeat_of]).toEqual([p0.run_id, p0.run_id]);
    expect(b1.config_id).toBe(b0.config_id);
    expect(new Set([p0.config_id, p1.config_id, p2.config_id]).size).toBe(1);
    expect(p0.config_id).not.toBe(b0.config_id);
    // the candidate's verdict waited for its seeds, then kept the incumbent (no LLM to settle it)
    expect(String(p2.evaluation_reason)).toMatch(/\(3 seeds\) vs run_0000's .* \(2 seeds\).*no repeat left.*kept the incumbent/);
    expect(runs.slice(2).every((r) => r.accepted === false)).toBe(true);
    // inside the noise after every repeat: recorded as promising, unconfirmed, and shown as such
    expect(p2.promising).toBe(true);
    const status = await runCli(["status", "--system-dir", dir, "--json"], { env });
    expect(JSON.parse(status.stdout).runs.find((r: { run_id: string }) => r.run_id === p2.run_id).verdict).toBe("promising");
    expect(state.best_run_id).toBe(b0.run_id);
    // agent_state.json holds the per-config statistics and the measured noise
    const configs = (state as unknown as { configs: Array<{ root_run_id: string; n: number }> }).configs;
    expect(configs.map((c) => [c.root_run_id, c.n])).toEqual([[b0.run_id, 2], [p0.run_id, 3]]);
    const noise = Object.values((state as unknown as { noise: Record<string, { dof: number; n: number }> }).noise);
    expect(noise).toHaveLength(1);
    expect(noise[0]).toMatchObject({ dof: 3, n: 5 });
    // the budget counts every training; the summary says how they split
    const summary = JSON.parse(res.stdout);
    expect(summary).toMatchObject({ iterations: 5, trainings: { baseline: 2, proposals: 1, repeats: 2 }, best_seeds: 2 });
    expect(decisions(dir).map((d) => d.repeat)).toEqual([false, false, true, true, false]);
    // a repeat is labelled as one, with its seed, not as a planner's proposal
    expect(res.stderr).toMatch(new RegExp(`^iteration 4/5 · ${p1.run_id} · repeat of ${p0.run_id} \\(seed 43\\) · `, "m"));
    expect(res.stderr).not.toMatch(/planner evaluator|, evaluator\]/);
    // config.py was never overwritten by a candidate: it is the incumbent's config
    expect(fs.readFileSync(path.join(dir, "config.py"), "utf8")).toBe(fs.readFileSync(path.join(dir, "runs", String(b0.run_id), "config_used.py"), "utf8"));
  });

  it("accepts a candidate far outside the noise at once, and later searches reuse the measured noise", async () => {
    const dir = workspace();
    // the candidate's lr 0.001 is 30% better than the baseline, whose 2 seeds differ by 1%
    const env = cliEnv({ NAS_PYTHON: fakeTrainingPython(dir, { default: 0.3, by_lr: { "0.001": 0.21 }, rel: { "43": 0.01 } }) });
    const mock = writeMockScript(dir, [LR_DECISION]);
    const res = await runCli(["run", "--system-dir", dir, "--planner", "mock", "--mock-file", mock, "--baseline-seeds", "2", "--alpha", "0.45", "--max-repeats", "0", "--max-iterations", "3", "--json"], { env });
    expect(res.code, res.stderr).toBe(0);
    const state = readAgentState(dir);
    expect(state.runs.map((r) => r.accepted)).toEqual([true, true, true]);
    expect(state.best_run_id).toBe(state.runs[2].run_id);
    expect(String(state.runs[2].evaluation_reason)).toMatch(/beyond the noise margin [\d.]+% \(t [\d.]+ on 1 dof, look 1 of 1;/); // the baseline's 2 seeds: a t test on 1 dof
    expect(fs.readFileSync(path.join(dir, "config.py"), "utf8")).toBe(fs.readFileSync(path.join(dir, "runs", state.runs[2].run_id, "config_used.py"), "utf8"));
    // a second search at the same fidelity: config.py is the incumbent, the noise is reused, no baseline
    const again = await runCli(["run", "--system-dir", dir, "--planner", "mock", "--mock-file", writeMockScript(dir, []), "--max-iterations", "1", "--json"], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/continuing from the incumbent run_0002/);
    expect(again.stderr).toMatch(/seed noise at this fidelity sd [\d.]+ .*reused/);
    expect(readAgentState(dir).runs).toHaveLength(3);
  });
});
