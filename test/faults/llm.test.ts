/**
 * LLM faults (issue 18, family 1) through the real CLI with --planner llm against the fake
 * OpenAI-compatible server. A baseline is trained once (mock planner); each fault then runs a
 * fresh `run` on its own copy of that workspace and its own fake server (a refused answer makes the
 * round fall back to TPE, which trains once). The faults are the LLM's, not the training's: the
 * trainings run the torch-free stand-in that honours train.py's contract (test/helpers/fake_train.py).
 * Pass: no run lost, config.py parses and equals the incumbent's, the search finishes or stops
 * with a one-line error, no stack trace in stderr; a 401 stops with exit != 0.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeOpenAI, type FakeReply } from "../helpers/fake-openai.js";
import { fakeTrainingPython } from "../helpers/stand-ins.js";
import { cliEnv, makeWorkspace, readAgentState, removeWorkspace, REPO, runCli, writeMockScript } from "../helpers/workspace.js";
import { record } from "./ledger.js";

const PY = path.join(REPO, ".venv", "bin", "python");
const ok = { step_type: "small", plan: "change one thing", reason: "fault suite" };
const decision = (changes: unknown[], extra: Record<string, unknown> = {}) => ({ tool: { ...ok, config_changes: changes, ...extra } });
const raw = (text: string): FakeReply => ({ toolText: text });

const CASES: Array<[string, FakeReply]> = [
  ["500 burst", { status: 500, message: "upstream overloaded" }],
  ["truncated JSON", raw('{"step_type": "small", "plan": "raise lr", "config_chan')],
  ["prose with no tool call", { text: "I would raise the learning rate a little and see what happens." }],
  ["wrong enum", decision([{ key: "model.dropout", value: 0.1 }], { step_type: "gigantic" })],
  ["missing field", { tool: { step_type: "small", plan: "p", config_changes: [{ key: "model.dropout", value: 0.1 }] } }],
  ["unknown key", decision([{ key: "model.warp_drive", value: 3 }])],
  ["value out of range", decision([{ key: "data.batch_size", value: 100000 }])],
  ["wrong type", decision([{ key: "model.d_model", value: "sixteen" }])],
  ["NaN", raw('{"step_type":"small","plan":"p","reason":"r","config_changes":[{"key":"model.dropout","value":NaN}]}')],
  ["huge number", decision([{ key: "model.d_model", value: 1e308 }])],
  ["d_model % n_heads", decision([{ key: "model.n_heads", value: 3 }])],
  ["401", { status: 401, message: "No auth credentials found" }],
];

let base = "";
let python = "";
const dirs: string[] = [];
beforeAll(async () => {
  // n_heads 3 is allowed so that a d_model % n_heads violation can be proposed
  base = makeWorkspace();
  const spaceFile = path.join(base, "search_space.json");
  const space = JSON.parse(fs.readFileSync(spaceFile, "utf8"));
  space.params["model.n_heads"].choices = [1, 2, 3];
  fs.writeFileSync(spaceFile, JSON.stringify(space));
  python = fakeTrainingPython(base, { hash_default: true });
  const mock = writeMockScript(base, []);
  const res = await runCli(["run", "--system-dir", base, "--planner", "mock", "--mock-file", mock, "--baseline-seeds", "1",
    "--max-iterations", "1"], { env: cliEnv({ NAS_PYTHON: python }) });
  expect(res.code, res.stderr).toBe(0);
  expect(readAgentState(base).runs).toHaveLength(1);
}, 180_000);
afterAll(() => {
  for (const d of [base, ...dirs]) removeWorkspace(d);
});

describe("LLM faults through the CLI", () => {
  it.concurrent.each(CASES)("%s", async (name, reply) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nas-graph-llm-fault-"));
    dirs.push(dir);
    fs.cpSync(base, dir, { recursive: true });
    const before = readAgentState(dir).runs.map((r) => r.run_id);
    const fake = await startFakeOpenAI();
    try {
      // the fault three times (repair attempts see it again); then the queue is empty and the server answers 500
      fake.enqueue(reply, reply, reply);
      const res = await runCli(["run", "--system-dir", dir, "--planner", "llm", "--evaluator", "rules", "--max-iterations", "2"], {
        env: cliEnv({ NAS_PYTHON: python, OPENROUTER_API_KEY: "sk-or-test", NAS_LLM_BASE_URL: fake.baseURL, NAS_LLM_MAX_RETRIES: "0", NAS_LLM_BACKOFF_MS: "0" }),
      });
      expect(fake.requests.length).toBeGreaterThan(0);
      expect(res.stderr).not.toMatch(/Traceback|\n\s+at .+:\d+:\d+\)?$/m);
      if (name === "401") expect(res.code).not.toBe(0);
      if (res.code !== 0) {
        const errors = res.stderr.split("\n").filter((l) => /^error: /.test(l));
        expect(errors, res.stderr).toHaveLength(1);
      }
      const after = readAgentState(dir).runs.map((r) => r.run_id);
      const lost = before.filter((id) => !after.includes(id)).length;
      expect(lost).toBe(0);
      expect(new Set(after).size).toBe(after.length);
      const parse = spawnSync(PY, ["-c", "import ast,sys; ast.parse(open(sys.argv[1]).read())", path.join(dir, "config.py")]);
      expect(parse.status).toBe(0);
      // every faulty answer is refused (the round may fall back to TPE and train): config.py is the incumbent's
      const state = readAgentState(dir);
      const id = (config: string) => JSON.parse(spawnSync(PY, ["-m", "nas_agent", "--system-dir", dir, "config-id", "--config", config],
        { cwd: dir, env: { ...cliEnv(), PYTHONPATH: dir }, encoding: "utf8" }).stdout).config_id;
      expect(state.best_run_id).toBeTruthy();
      expect(id(path.join(dir, "config.py"))).toBe(id(path.join(dir, "runs", state.best_run_id!, "config_used.py")));
      if (res.code === 0) expect(state.runs.some((r) => r.planner === "llm" && r.accepted)).toBe(false);
      record({ name: `llm/${name}`, survived: true, runsLost: lost, executed: 0 });
    } finally {
      await fake.close();
    }
  });
});
