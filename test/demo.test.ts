/**
 * `nas-graph demo` through the CLI, shortened (5 trainings of 1 epoch): it creates its CPU-sized
 * workspace, runs the real loop (baseline, then the portfolio: DLinear and NLinear at their
 * papers' recipes), writes the report and prints its path; the end says how the best model
 * compares with persistence; a second demo into the same folder is refused with a one-line error.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cliEnv, readAgentState, REPO, runCli } from "./helpers/workspace.js";

const parent = fs.mkdtempSync(path.join(os.tmpdir(), "nas-graph-demo-"));
afterAll(() => fs.rmSync(parent, { recursive: true, force: true }));

describe("demo", () => {
  it("creates the demo workspace, runs the loop, writes the report and prints its path", async () => {
    const dir = path.join(parent, "demo");
    const res = await runCli(["demo", "--dir", dir, "--max-iterations", "5", "--max-epochs", "1"], { env: cliEnv() });
    expect(res.code, res.stderr).toBe(0);
    const report = path.join(dir, "runs", "report.html");
    expect(res.stdout.trim()).toBe(`report: ${report}`);
    expect(fs.readFileSync(report, "utf8")).toContain("<h2>Optimization history</h2>");
    expect(fs.existsSync(path.join(dir, "runs", "report.md"))).toBe(true);
    // the demo's own config and search space, our code
    const state = readAgentState(dir);
    // config.py ends on the incumbent: the demo's config, or it with the accepted proposal applied
    const incumbent = fs.readFileSync(path.join(dir, "runs", state.best_run_id as string, "config_used.py"), "utf8");
    expect(fs.readFileSync(path.join(dir, "config.py"), "utf8")).toBe(incumbent);
    expect(fs.readFileSync(path.join(dir, "runs", "run_0000", "config_used.py"), "utf8")).toBe(fs.readFileSync(path.join(REPO, "demo", "config.py"), "utf8"));
    expect(fs.readFileSync(path.join(dir, "search_space.json"), "utf8")).toBe(fs.readFileSync(path.join(REPO, "demo", "search_space.json"), "utf8"));
    for (const f of ["train.py", "model.py", "data.py", "models", "nas_agent"]) expect(fs.existsSync(path.join(dir, f)), f).toBe(true);
    // 3 seeds measure the noise, then the portfolio (its candidate may get one repeat seed before its verdict)
    expect(state.runs.map((r) => r.planner).slice(0, 4)).toEqual(["baseline", "baseline", "baseline", "portfolio"]);
    expect(["portfolio", "evaluator"]).toContain(state.runs[4].planner);
    // the demo's search space holds the linear families, and the search reaches one of them
    const space = JSON.parse(fs.readFileSync(path.join(REPO, "demo", "search_space.json"), "utf8"));
    expect(space.params["model.family"].choices).toEqual(expect.arrayContaining(["dlinear", "nlinear"]));
    expect((state.runs[3].params as Record<string, unknown>)["model.family"]).toBe("dlinear");
    expect(state.runs.every((r) => r.status === "ok")).toBe(true);
    expect(res.stderr).toMatch(/demo workspace .*: ETTh1, 48 -> 24 steps, from a CPU-sized Informer; .* 5 trainings, torch threads \d+/);
    expect(res.stderr).toMatch(/^iteration 4\/5 · run_0003 · planner portfolio · best \d\.\d{4} ± \d\.\d{4} \(run_0000, 3 seeds\)/m);
    // one line compares the incumbent with persistence on validation
    expect(res.stderr).toMatch(/best val_mse \d\.\d{4}[^\n]*, \d+% (below|above) persistence 0\.0696/);
    expect(res.stderr).toMatch(/demo done in \d+ s/);

    const again = await runCli(["demo", "--dir", dir], { env: cliEnv() });
    expect(again.code).toBe(2);
    expect(again.stderr.trim()).toBe(`error: ${dir} already exists; remove it (rm -rf ${dir}) or pass --dir NEW_DIR`);
  });
});
