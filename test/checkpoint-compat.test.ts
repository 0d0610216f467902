/**
 * A checkpoint saved by an older version resumes: its graph state held the search's options (now
 * search.json's alone, read through GraphDeps.options) and the baseline's first seed (start_seed;
 * begin-search now names the seeds). Those channels are ignored. Driven through the real CLI: a
 * search paused for review, its checkpoint given the old channels, then answered with resume.
 * (LangGraph builds the state from the declared channels only, so no node can see them; this
 * guards the resume itself against them.)
 */
import path from "node:path";
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";
import { describe, expect, it } from "vitest";
import { fakeTrainingPython } from "./helpers/stand-ins.js";
import { cliEnv, readAgentState, runCli, tempWorkspaces, writeMockScript } from "./helpers/workspace.js";

const workspace = tempWorkspaces();

/** The checkpointer's own SQLite connection (better-sqlite3), the part of it this test needs. */
interface SqliteDb {
  prepare(sql: string): { all(): unknown[]; run(...params: unknown[]): unknown };
  close(): void;
}

/** What an older version kept in the graph state besides today's channels. */
const OLD_CHANNELS = {
  options: { target_val_mse: null, max_epochs: null, run_timeout_s: null, review: false, seed: null, parallel: 1, baseline_seeds: 1, max_repeats: 2, portfolio: true },
  start_seed: 42,
};

describe("a checkpoint of an older version", () => {
  it("resumes with search.json's options, the old state's own options and start seed ignored", async () => {
    const dir = workspace();
    const env = cliEnv({ NAS_PYTHON: fakeTrainingPython(dir, { default: 0.3, by_lr: { "0.001": 0.2 } }) });
    const mock = writeMockScript(dir, [{ step_type: "small", plan: "lr up", reason: "test", config_changes: [{ key: "training.optimizer_params.lr", value: 0.001 }] }]);
    const run = await runCli(["run", "--system-dir", dir, "--planner", "mock", "--mock-file", mock, "--baseline-seeds", "1", "--max-iterations", "2", "--review", "--json"], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).pending_review).toMatchObject({ run_id: "run_0000" });

    const db = (SqliteSaver.fromConnString(path.join(dir, ".nas-graph", "checkpoints.sqlite")) as unknown as { db: SqliteDb }).db;
    const rows = db.prepare("SELECT rowid, type, checkpoint FROM checkpoints").all() as Array<{ rowid: number; type: string; checkpoint: Buffer }>;
    let withState = 0;
    for (const row of rows) {
      expect(row.type).toBe("json");
      const cp = JSON.parse(row.checkpoint.toString("utf8"));
      if ("baseline_seeds" in cp.channel_values) withState += 1;
      cp.channel_values = { ...cp.channel_values, ...OLD_CHANNELS };
      db.prepare("UPDATE checkpoints SET checkpoint = ? WHERE rowid = ?").run(Buffer.from(JSON.stringify(cp)), row.rowid);
    }
    db.close();
    expect(withState).toBeGreaterThan(0); // the graph state's channels are where the old ones were

    // --review is search.json's, so the next trial pauses too (the old state's review: false is not read)
    const first = await runCli(["resume", "--accept", "--system-dir", dir, "--json"], { env });
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout).pending_review).toMatchObject({ run_id: "run_0001", verdict: { accept: true } });
    const done = await runCli(["resume", "--accept", "--system-dir", dir, "--json"], { env });
    expect(done.code, done.stderr).toBe(0);
    expect(JSON.parse(done.stdout)).toMatchObject({ status: "finished", iterations: 2, best_run_id: "run_0001" });
    expect(readAgentState(dir).runs.map((r) => [r.run_id, r.accepted])).toEqual([["run_0000", true], ["run_0001", true]]);
  });
});
