/**
 * A baseline whose every seed fails (an OOM here; a --run-timeout on a CPU does the same) leaves no
 * measured incumbent. The first successful proposal becomes the incumbent, and is then measured
 * like a baseline: its missing seeds (up to --baseline-seeds) train next, before anything else is
 * judged against it, so a truly better config can unseat it. A baseline that runs past
 * --run-timeout trains no further seed (any seed would run as long); with --parallel the round's
 * incumbent gets the seeds; seeds a budget left out train first in the next search. Driven through
 * the real CLI with the torch-free train.py stand-in (every config with the starting lr 5e-05
 * dies as an OOM would, or hangs). Four stand-in searches (measured under load 8: 2-3 min wall, ~20 s user
 * CPU).
 */
import { describe, expect, it } from "vitest";
import { fakeTrainingPython } from "./helpers/stand-ins.js";
import { cliEnv, readAgentState, runCli, tempWorkspaces, writeMockScript } from "./helpers/workspace.js";

const workspace = tempWorkspaces();

const lr = (value: number) => ({ step_type: "small", plan: `lr ${value}`, reason: "test", config_changes: [{ key: "training.optimizer_params.lr", value }] });

type Run = { run_id: string; status: string; kind: string; seed: number; repeat_of: string | null; accepted: boolean; val_mse: number | null };

describe("a failed baseline", () => {
  it("measures the first successful run like a baseline, and a better config then unseats it", async () => {
    const dir = workspace();
    // seed noise +-5%: the proposals train seed 42, their further seeds 43 and 44
    const python = fakeTrainingPython(dir, { crash_by_lr: ["5e-05"], by_lr: { "0.001": 0.3, "0.002": 0.24 }, rel: { "43": 0.05, "44": -0.05 } });
    const mock = writeMockScript(dir, [lr(0.001), lr(0.002)]);
    const res = await runCli(["run", "--system-dir", dir, "--planner", "mock", "--mock-file", mock, "--max-iterations", "9", "--portfolio", "off"],
      { env: cliEnv({ NAS_PYTHON: python }) });
    expect(res.code, res.stderr).toBe(0);
    const runs = readAgentState(dir).runs as Run[];
    const brief = runs.map((r) => `${r.run_id} ${r.kind} ${r.status} seed ${r.seed} of ${r.repeat_of} ${r.accepted}`).join("\n");
    expect(runs.slice(0, 3).map((r) => r.status), brief).toEqual(["crashed", "crashed", "crashed"]);
    const [first, s2, s3, better, r2, r3] = runs.slice(3);
    // the first successful run, then its two missing baseline seeds, never a seed it already has
    expect(res.stderr).toMatch(/verdict run_0003 ACCEPTED: baseline: first successful run[^\n]*2 more seeds/);
    expect([s2, s3].map((r) => [r.kind, r.repeat_of, r.seed, r.accepted]), brief).toEqual([["baseline", first.run_id, 43, true], ["baseline", first.run_id, 44, true]]);
    // the better config, judged against the measured baseline, is repeated and then accepted
    expect([better.repeat_of, r2.repeat_of, r3.repeat_of], brief).toEqual([null, better.run_id, better.run_id]);
    // each verdict reads the incumbent's noise pooled over every seed so far (here 4 dof), never the figures of an earlier round
    expect(res.stderr).toMatch(/verdict run_0008 ACCEPTED: mean val_mse 0\.24[^\n]*\(3 seeds\) vs run_0003's 0\.3[^\n]*\(3 seeds\)[^\n]*on 4 dof/);
    expect(res.stderr).toMatch(/verdict run_0006 ANOTHER SEED[^\n]*incumbent sd [\d.]+ from informer runs \(2 dof\)/);
    expect(readAgentState(dir).best_run_id).toBe(better.run_id);
    expect(runs.length).toBe(9);
  }, 120_000);

  it("a baseline past --run-timeout trains no further seed; the seeds a budget left out train first in the next search", async () => {
    const dir = workspace();
    const env = cliEnv({ NAS_PYTHON: fakeTrainingPython(dir, { hang_by_lr: ["5e-05"], by_lr: { "0.001": 0.3 }, rel: { "43": 0.05, "44": -0.05 } }) });
    const first = await runCli(["run", "--system-dir", dir, "--planner", "mock", "--mock-file", writeMockScript(dir, [lr(0.001)]),
      "--max-iterations", "2", "--run-timeout", "5", "--portfolio", "off"], { env });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain("run_0000 ran past --run-timeout: its 2 queued seeds would too, and are not trained");
    // no training left for the first success's seeds: its verdict does not promise them
    expect(first.stderr).toMatch(/verdict run_0001 ACCEPTED: baseline: first successful run \(val_mse 0\.3000\)/);
    expect(first.stderr).not.toMatch(/more seeds? of it train next/);
    const again = await runCli(["run", "--system-dir", dir, "--planner", "mock", "--mock-file", writeMockScript(dir, []), "--max-iterations", "2", "--portfolio", "off"], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain("the incumbent run_0001 was the first successful run (the baseline's seeds failed) and has no measured noise: 2 more seeds of it train first");
    const runs = readAgentState(dir).runs as Run[];
    const brief = runs.map((r) => `${r.run_id} ${r.kind} ${r.status} seed ${r.seed} of ${r.repeat_of} ${r.accepted}`).join("\n");
    expect(runs.map((r) => [r.kind, r.status, r.repeat_of, r.seed, r.accepted]), brief).toEqual([
      ["baseline", "timeout", null, 42, false], ["proposal", "ok", null, 42, true], ["baseline", "ok", "run_0001", 43, true], ["baseline", "ok", "run_0001", 44, true],
    ]);
    const state = readAgentState(dir) as unknown as { best_run_id: string; noise: Record<string, { dof: number }> };
    expect(state.best_run_id).toBe("run_0001");
    expect(Object.values(state.noise).map((n) => n.dof)).toEqual([2]); // the incumbent's 3 seeds measure the noise
  }, 120_000);

  it("with --parallel, the round's incumbent gets the seeds, also when a config of the same round beat the first success", async () => {
    const dir = workspace();
    const env = cliEnv({ NAS_PYTHON: fakeTrainingPython(dir, { crash_by_lr: ["5e-05"], by_lr: { "0.001": 0.3, "0.002": 0.15 } }) });
    const res = await runCli(["run", "--system-dir", dir, "--planner", "mock", "--mock-file", writeMockScript(dir, [lr(0.001), lr(0.002)]),
      "--max-iterations", "5", "--parallel", "2", "--baseline-seeds", "2", "--portfolio", "off"], { env });
    expect(res.code, res.stderr).toBe(0);
    const runs = readAgentState(dir).runs as Run[];
    const brief = runs.map((r) => `${r.run_id} ${r.kind} ${r.status} seed ${r.seed} of ${r.repeat_of} ${r.accepted}`).join("\n");
    // run_0002 was the first success; run_0003, in the same round, halved its val_mse and became the incumbent
    expect(res.stderr).toMatch(/verdict run_0003 ACCEPTED: mean val_mse 0\.15 \(1 seed\) vs run_0002's 0\.3 \(1 seed\)/);
    expect(runs.slice(4).map((r) => [r.kind, r.repeat_of, r.seed, r.accepted]), brief).toEqual([["baseline", "run_0003", 43, true]]);
    expect(readAgentState(dir).best_run_id).toBe("run_0003");
  }, 120_000);
});
