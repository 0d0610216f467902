/**
 * `resume --planner/--evaluator` through the real CLI: an LLM search that stopped because the LLM
 * failed goes on with another planner for the rest of the search; without an API key, a bare
 * resume names the resume that works; a bad value is one usage line with nothing before it.
 */
import fs from "node:fs";
import { closedPort } from "./helpers/fake-openai.js";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { cliEnv, readAgentState, tempWorkspaces, runCli } from "./helpers/workspace.js";

const workspace = tempWorkspaces();

describe("resume --planner / --evaluator", () => {
  it("switches an LLM search that lost its server to optuna for the rest of the search", async () => {
    const dir = workspace();
    const down = `http://127.0.0.1:${await closedPort()}/v1`;
    const llmEnv = cliEnv({ OPENROUTER_API_KEY: "sk-or-test", NAS_LLM_BASE_URL: down, NAS_LLM_MAX_RETRIES: "0", NAS_LLM_BACKOFF_MS: "0" });
    const args = ["--planner", "llm", "--evaluator", "llm", "--acceptance", "fixed", "--baseline-seeds", "1", "--portfolio", "off", "--max-iterations", "2", "--max-llm-failures", "1"];
    const res = await runCli(["run", "--system-dir", dir, ...args, "--json"], { env: llmEnv });
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ status: "stopped", stop_kind: "llm_failures", n_runs: 1 });
    expect(JSON.parse(res.stdout).stop_reason).toMatch(/nas-graph resume --planner optuna\)$/);

    // a bad value: one usage line, nothing before it
    const bad = await runCli(["resume", "--system-dir", dir, "--planner", "gpt"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe("error: unknown --planner 'gpt'; use one of llm, mock, optuna, random, llm+optuna\n");
    // no key: the recorded LLM planner and evaluator cannot run; the error names the resume that can
    const noKey = await runCli(["resume", "--system-dir", dir]);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toBe(
      "error: this search uses the planner llm and the evaluator llm, which need OPENROUTER_API_KEY (not set); put it in .env, or continue without an LLM: nas-graph resume --planner optuna --evaluator rules\n",
    );
    const half = await runCli(["resume", "--system-dir", dir, "--planner", "optuna"]);
    expect(half.code).toBe(2);
    expect(half.stderr).toMatch(/^error: this search uses the evaluator llm, which needs OPENROUTER_API_KEY/);
    expect(readAgentState(dir).runs).toHaveLength(1);

    const more = await runCli(["resume", "--system-dir", dir, "--planner", "optuna", "--evaluator", "rules", "--json"]);
    expect(more.code, more.stderr).toBe(0);
    expect(more.stderr).toContain("nas-graph: planner: optuna (was llm) for the rest of the search");
    expect(more.stderr).toContain("nas-graph: evaluator: rules (was llm) for the rest of the search");
    expect(JSON.parse(more.stdout)).toMatchObject({ status: "finished", iterations: 2, n_runs: 2, usage: { calls: 0 } });
    expect(readAgentState(dir).runs.map((r) => r.planner)).toEqual(["baseline", "optuna"]);
    const search = JSON.parse(fs.readFileSync(path.join(dir, ".nas-graph", "search.json"), "utf8"));
    expect(search.options).toMatchObject({ planner: "optuna", evaluator: "rules" });
  });
});
