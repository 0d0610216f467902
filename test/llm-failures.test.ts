/**
 * The LLM failure path through the real CLI (issue 15, item 3): a malformed answer and an
 * unreachable server each give one readable line per failed round and nothing from LangChain's
 * console or the JSON logs in the human output; --max-llm-failures failed rounds in a row stop
 * the search resumably, and `resume` continues it once the server answers. The LLM path is under
 * test, not the training: trainings run the torch-free stand-in.
 */
import fs from "node:fs";
import { closedPort } from "./helpers/fake-openai.js";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { fakeOpenAISuite } from "./helpers/llm-suite.js";
import { fakeTrainingPython } from "./helpers/stand-ins.js";
import { cliEnv, LR_DECISION, readAgentState, runCli } from "./helpers/workspace.js";

const suite = fakeOpenAISuite();
const workspace = suite.workspace;
/** The CLI's environment for the workspace DIR: the LLM server at BASEURL, and trainings by the stand-in. */
const llmEnv = (dir: string, baseURL: string) =>
  cliEnv({
    OPENROUTER_API_KEY: "sk-or-test", NAS_LLM_BASE_URL: baseURL, NAS_LLM_MAX_RETRIES: "0", NAS_LLM_BACKOFF_MS: "0",
    NAS_PYTHON: fakeTrainingPython(dir, { hash_default: true }),
  });
// one baseline seed, no portfolio, no repeats: every round after the baseline asks the LLM planner
const ARGS = ["--planner", "llm", "--evaluator", "rules", "--acceptance", "fixed", "--baseline-seeds", "1", "--portfolio", "off"];
const fallbackLines = (stderr: string) => stderr.split("\n").filter((l) => l.startsWith("LLM planner failed"));

describe("a malformed LLM answer", () => {
  it("prints one fallback line per round, the count in the header, and nothing from LangChain or the JSON logs", async () => {
    const dir = workspace();
    const bad = { toolText: "this is not json {" };
    suite.fake().enqueue(bad, bad, bad, bad, bad, bad); // 3 attempts per round, 2 rounds
    const res = await runCli(["run", "--system-dir", dir, ...ARGS, "--max-iterations", "3"], { env: llmEnv(dir, suite.fake().baseURL) });
    expect(res.code, res.stderr).toBe(0);
    expect(suite.fake().requests).toHaveLength(6);
    for (const out of [res.stdout, res.stderr]) {
      expect(out).not.toMatch(/LangChain|pnpm/);
      expect(out).not.toMatch(/^\s*\{.*"(level|msg)"/m); // no raw JSON log line
    }
    const lines = fallbackLines(res.stderr);
    expect(lines).toHaveLength(2);
    for (const [i, line] of lines.entries()) {
      expect(line).toMatch(/no valid answer in 3 attempts/);
      expect(line).toContain(`optimizer (optuna TPE) instead [${i + 1} of 3 failed rounds in a row`);
    }
    expect(res.stderr).toMatch(/^iteration 2\/3 · run_0001 · planner optuna \(fallback\) · 1 LLM fallback · /m);
    expect(res.stderr).toMatch(/^iteration 3\/3 · run_0002 · planner optuna \(fallback\) · 2 LLM fallbacks · /m);
    expect(readAgentState(dir).runs.map((r) => r.planner)).toEqual(["baseline", "optuna (fallback)", "optuna (fallback)"]);
    // what was kept out of the terminal is in the workspace log, one JSON object a line
    const log = fs.readFileSync(path.join(dir, ".nas-graph", "log.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(log.filter((e) => e.msg === "LLM planner failed; this round uses the TPE suggestions")).toHaveLength(2);
    expect(log.some((e) => e.source === "console.warn" && /New LangChain packages/.test(e.msg))).toBe(true);
  });
});

describe("an unreachable LLM server", () => {
  it("names the refused connection, stops resumably after --max-llm-failures rounds, and resume continues", async () => {
    const dir = workspace();
    const down = `http://127.0.0.1:${await closedPort()}/v1`;
    const res = await runCli(["run", "--system-dir", dir, ...ARGS, "--max-iterations", "4", "--max-llm-failures", "2", "--json"], { env: llmEnv(dir, down) });
    expect(res.code, res.stderr).toBe(0);
    const summary = JSON.parse(res.stdout);
    expect(summary).toMatchObject({ status: "stopped", stop_kind: "llm_failures", iterations: 2, n_runs: 2 });
    expect(summary.stop_reason).toBe(
      `stopped after 2 LLM planner rounds in a row without an answer (last: the LLM API at ${down} failed: connection refused (ECONNREFUSED)); check NAS_LLM_BASE_URL / OPENROUTER_API_KEY, then nas-graph resume (or go on without the LLM planner: nas-graph resume --planner optuna)`,
    );
    const lines = fallbackLines(res.stderr);
    expect(lines).toHaveLength(1); // the 2nd failed round stops the search instead of training
    expect(lines[0]).toContain("connection refused (ECONNREFUSED)");
    expect(res.stderr).not.toMatch(/LangChain|pnpm|^\s*\{.*"level"/m);
    expect(JSON.parse(fs.readFileSync(path.join(dir, ".nas-graph", "search.json"), "utf8"))).toMatchObject({ status: "stopped" });
    expect(readAgentState(dir).runs.map((r) => r.planner)).toEqual(["baseline", "optuna (fallback)"]);

    // without --json the stop says the cause and the fix in one line
    const again = await runCli(["resume", "--system-dir", dir], { env: llmEnv(dir, down) });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/^nas-graph: stopped after 2 LLM planner rounds in a row .*connection refused \(ECONNREFUSED\).*check NAS_LLM_BASE_URL \/ OPENROUTER_API_KEY, then nas-graph resume/m);
    expect(readAgentState(dir).runs).toHaveLength(2); // nothing trained while the server is down

    // the server answers again: resume finishes the search with the LLM's proposals
    suite.fake().enqueue({ tool: LR_DECISION }, { tool: { ...LR_DECISION, plan: "Clip the gradients harder", config_changes: [{ key: "training.grad_clip", value: 0.5 }] } });
    const more = await runCli(["resume", "--system-dir", dir, "--json"], { env: llmEnv(dir, suite.fake().baseURL) });
    expect(more.code, more.stderr).toBe(0);
    expect(JSON.parse(more.stdout)).toMatchObject({ status: "finished", iterations: 4, n_runs: 4, usage: { calls: 2 } });
    expect(suite.fake().requests).toHaveLength(2);
    expect(readAgentState(dir).runs.map((r) => r.planner)).toEqual(["baseline", "optuna (fallback)", "llm", "llm"]);
  });
});
