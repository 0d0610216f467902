/**
 * Secrets (issue 18, family 8): with OPENROUTER_API_KEY set to a marker, one tiny LLM search
 * against the fake server; the marker appears in no file under the workspace and in no output.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, expect, it } from "vitest";
import { startFakeOpenAI } from "../helpers/fake-openai.js";
import { cliEnv, LR_DECISION, makeWorkspace, readAgentState, removeWorkspace, runCli } from "../helpers/workspace.js";
import { record } from "./ledger.js";

const MARKER = "sk-or-v1-MARKER-7f3a9c1e5b2d";
let dir = "";
afterAll(() => {
  if (dir) removeWorkspace(dir);
});

function files(root: string): string[] {
  return fs.readdirSync(root, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => path.join((e as { parentPath?: string; path?: string }).parentPath ?? (e as { path?: string }).path ?? root, e.name));
}

it("the API key appears in no workspace file and in no output", async () => {
  dir = makeWorkspace();
  const fake = await startFakeOpenAI();
  try {
    fake.enqueue({ tool: LR_DECISION });
    const res = await runCli(["run", "--system-dir", dir, "--planner", "llm", "--evaluator", "rules", "--baseline-seeds", "1",
      "--max-iterations", "2"], { env: cliEnv({ OPENROUTER_API_KEY: MARKER, NAS_LLM_BASE_URL: fake.baseURL, NAS_LLM_MAX_RETRIES: "0" }) });
    expect(res.code, res.stderr).toBe(0);
    // the key did reach the server (so it was really in use) ...
    expect(fake.requests.some((r) => String(r.headers.authorization ?? "").includes(MARKER))).toBe(true);
    expect(readAgentState(dir).runs).toHaveLength(2);
    // ... and nowhere else
    const leaks = files(dir).filter((f) => fs.readFileSync(f).includes(MARKER)).map((f) => path.relative(dir, f));
    if (res.stdout.includes(MARKER)) leaks.push("stdout");
    if (res.stderr.includes(MARKER)) leaks.push("stderr");
    expect(leaks).toEqual([]);
    record({ name: "secrets/api-key", survived: leaks.length === 0, runsLost: 0, executed: 0 });
  } finally {
    await fake.close();
  }
});
