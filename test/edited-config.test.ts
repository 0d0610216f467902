/**
 * A new `run` and the user's config.py (issue 9.1), through the real CLI: an edited config.py is
 * trained as a new baseline, then planned from; a seed-only edit is no change. Trainings run the
 * torch-free stand-in (test/helpers/fake_train.py) with scripted results.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { fakeTrainingPython } from "./helpers/stand-ins.js";
import { cliEnv, DROPOUT_DECISION, readAgentState, readText, runCli, tempWorkspaces, writeMockScript } from "./helpers/workspace.js";

const workspace = tempWorkspaces();

describe("a new run and the user's config.py (issue 9.1)", () => {
  it("trains an edited config.py as a new baseline, then plans from it; a seed-only edit is no change", async () => {
    const dir = workspace();
    // the stand-in's trainings: lr 0.001 (the user's edit) beats lr 5e-05 by far
    const env = cliEnv({ NAS_PYTHON: fakeTrainingPython(dir, { default: 0.3, by_lr: { "0.001": 0.2 } }) });
    const mock = writeMockScript(dir, [DROPOUT_DECISION]);
    const args = ["run", "--system-dir", dir, "--planner", "mock", "--mock-file", mock, "--baseline-seeds", "1"];
    const first = await runCli([...args, "--max-iterations", "1"], { env });
    expect(first.code, first.stderr).toBe(0);
    const [r0] = readAgentState(dir).runs;
    expect(readText(path.join(dir, "config.py"))).toBe(readText(path.join(dir, "runs", r0.run_id, "config_used.py")));

    // the user edits config.py by hand: a faster lr and a tighter gradient clip
    const edited = readText(path.join(dir, "config.py")).replace('"lr": 5e-05', '"lr": 0.001').replace('"grad_clip": 1.0', '"grad_clip": 0.5');
    fs.writeFileSync(path.join(dir, "config.py"), edited);
    const second = await runCli([...args, "--max-iterations", "2", "--json"], { env });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(
      new RegExp(`baseline: config.py differs from the incumbent ${r0.run_id}'s config; config.py is trained first`),
    );
    const [, r1, r2] = readAgentState(dir).runs;
    expect(r1).toMatchObject({ step_type: "baseline", status: "ok", accepted: true });
    expect(String(r1.evaluation_reason)).toMatch(/^baseline: first successful run/);
    expect(readText(path.join(dir, "runs", r1.run_id, "config_used.py"))).toBe(edited);
    // the proposal applies to the new incumbent (the user's config, which beats lr 5e-05 by far)
    expect(readAgentState(dir).best_run_id).not.toBe(r0.run_id);
    expect(r2).toMatchObject({ planner: "mock", config_changes: { "model.dropout": 0.1 } });
    const proposed = readText(path.join(dir, "runs", r2.run_id, "config_used.py"));
    expect(proposed).toContain('"lr": 0.001');
    expect(proposed).toContain('"grad_clip": 0.5');
    const best = readAgentState(dir).best_run_id!;
    expect(readText(path.join(dir, "config.py"))).toBe(readText(path.join(dir, "runs", best, "config_used.py")));

    // a different seed is the same config: no new baseline (the script's next change: one not tried yet)
    fs.writeFileSync(path.join(dir, "config.py"), readText(path.join(dir, "config.py")).replace("seed = 42", "seed = 7"));
    const next = writeMockScript(dir, [{ ...DROPOUT_DECISION, config_changes: [{ key: "model.dropout", value: 0.15 }] }]);
    const third = await runCli(["run", "--system-dir", dir, "--planner", "mock", "--mock-file", next, "--max-iterations", "1"], { env });
    expect(third.code, third.stderr).toBe(0);
    expect(third.stderr).not.toMatch(/differs from the incumbent/);
    expect(readAgentState(dir).runs[3]).toMatchObject({ planner: "mock" });
  });
});
