/**
 * The literature portfolio, through the real CLI: after the baseline, each model family with a
 * published recipe is proposed first (counted as trainings, judged by the same rule), once per
 * fidelity; `--portfolio off` skips it; the recipe is what the switch writes. The portfolio is
 * under test, not the training: trainings run the torch-free stand-in (test/helpers/fake_train.py).
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { fakeTrainingPython } from "./helpers/stand-ins.js";
import { cliEnv, LR_DECISION, readAgentState, REPO, runCli, tempWorkspaces, writeMockScript } from "./helpers/workspace.js";

const tempWorkspace = tempWorkspaces();

const RECIPE = {
  "training.optimizer_class": "optim.Adam",
  "training.optimizer_params.lr": 0.005,
  "training.optimizer_params.weight_decay": 0.0,
  "data.batch_size": 32,
  "training.patience": 3,
};

/** The tiny workspace, with recipes for the two linear families. */
function workspace(): string {
  const dir = tempWorkspace();
  const file = path.join(dir, "search_space.json");
  const space = JSON.parse(fs.readFileSync(file, "utf8"));
  space.recipes = { // listed nlinear first: the portfolio follows the file's order
    nlinear: { source: "test recipe (LTSF-Linear's)", epochs: 10, values: RECIPE },
    dlinear: { source: "test recipe (LTSF-Linear's)", epochs: 10, values: RECIPE },
  };
  fs.writeFileSync(file, JSON.stringify(space));
  return dir;
}

/** The CLI's environment: trainings by the stand-in, every config scoring apart. */
const standIn = (dir: string) => cliEnv({ NAS_PYTHON: fakeTrainingPython(dir, { hash_default: true }) });

function decisions(dir: string): Array<{ run_id: string; planner: string; kind: string }> {
  return fs.readFileSync(path.join(dir, ".nas-graph", "decisions.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
}

describe("the literature portfolio", () => {
  it("proposes each family at its recipe right after the baseline, once per fidelity, then the planner", async () => {
    const dir = workspace();
    const mock = writeMockScript(dir, [LR_DECISION, LR_DECISION]);
    const res = await runCli(["run", "--system-dir", dir, "--planner", "mock", "--mock-file", mock, "--baseline-seeds", "1", "--max-iterations", "4", "--max-repeats", "0"], { env: standIn(dir) });
    expect(res.code, res.stderr).toBe(0);
    expect(decisions(dir).map((d) => d.planner), res.stderr).toEqual(["baseline", "portfolio", "portfolio", "mock"]);
    const state = readAgentState(dir);
    const [, nlinear, dlinear] = state.runs as Array<{ params: Record<string, unknown>; config_changes: Record<string, unknown> }>;
    expect(dlinear.params["model.family"]).toBe("dlinear");
    expect(nlinear.params["model.family"]).toBe("nlinear");
    expect(dlinear.params["training.optimizer_params.lr"]).toBe(0.005); // the recipe was written
    expect(fs.readFileSync(path.join(dir, "runs", "run_0002", "config_used.py"), "utf8")).toContain('"patience": 3');
    expect(res.stderr).toMatch(/planner portfolio/);
    // a second search at the same fidelity does not train the portfolio again
    const again = await runCli(["run", "--system-dir", dir, "--planner", "mock", "--mock-file", writeMockScript(dir, [{ ...LR_DECISION, config_changes: [{ key: "training.optimizer_params.lr", value: 0.002 }] }]), "--max-iterations", "1"], { env: standIn(dir) });
    expect(again.code, again.stderr).toBe(0);
    expect(decisions(dir).at(-1)!.planner).toBe("mock");
  });

  it("tries the cheap linear families first in the shipped search space (the order of its recipes)", () => {
    // on a CPU DLinear and NLinear train in seconds, the transformers in minutes: a search has a
    // model that beats persistence before it spends its time on an Informer
    const shipped = JSON.parse(fs.readFileSync(path.join(REPO, "nas_system", "search_space.json"), "utf8"));
    const order = Object.keys(shipped.recipes);
    expect(order.slice(0, 2).sort()).toEqual(["dlinear", "nlinear"]);
    expect(order.indexOf("informer")).toBe(order.length - 1);
  });

  it("is skipped with --portfolio off, and the option is recorded for resume", async () => {
    const dir = workspace();
    const mock = writeMockScript(dir, [LR_DECISION]);
    const res = await runCli(["run", "--system-dir", dir, "--planner", "mock", "--mock-file", mock, "--baseline-seeds", "1", "--max-iterations", "2", "--portfolio", "off"], { env: standIn(dir) });
    expect(res.code, res.stderr).toBe(0);
    expect(decisions(dir).map((d) => d.planner)).toEqual(["baseline", "mock"]);
    const search = JSON.parse(fs.readFileSync(path.join(dir, ".nas-graph", "search.json"), "utf8"));
    expect(search.options.portfolio).toBe(false);
    const bad = await runCli(["run", "--system-dir", dir, "--planner", "mock", "--mock-file", mock, "--portfolio", "maybe"], { env: standIn(dir) });
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe("error: unknown --portfolio 'maybe'; use on or off");
  });
});
