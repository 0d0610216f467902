/** `nas-graph override <run_id> --accept|--reject`: manual verdict; config.py follows the incumbent. */
import fs from "node:fs";
import path from "node:path";
import { UserError } from "../errors.js";
import { agent } from "../python.js";
import { ui } from "../ui.js";
import { mirrorStudy } from "../graph/nodes/update-state.js";
import { acquireLock, openWorkspace, readSearch, runConfigRel, startConfigRel } from "../workspace.js";

export interface OverrideOptions {
  systemDir: string;
  accept?: boolean;
  reject?: boolean;
  reason?: string;
  json?: boolean;
}

export async function overrideCommand(runId: string, opts: OverrideOptions, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (Boolean(opts.accept) === Boolean(opts.reject)) throw new UserError("pass exactly one of --accept and --reject");
  const ws = openWorkspace(opts.systemDir);
  const release = acquireLock(ws, "override", ui.notice);
  try {
    const py = { ws, env };
    const args = ["set-accept", "--run-id", runId, opts.accept ? "--accept" : "--reject"];
    args.push("--reason", opts.reason ?? `manual override: ${opts.accept ? "accepted" : "rejected"}`);
    const res = await agent<{ best_run_id: string | null; previous_best_run_id: string | null }>(py, args);
    await mirrorStudy({ py, ui });
    let configFrom: string | null = null;
    if (res.best_run_id !== res.previous_best_run_id) configFrom = await followIncumbent(py, res.best_run_id);
    const out = { run_id: runId, accepted: Boolean(opts.accept), best_run_id: res.best_run_id, previous_best_run_id: res.previous_best_run_id, config_restored_from: configFrom };
    if (opts.json) process.stdout.write(JSON.stringify(out) + "\n");
    else {
      ui.notice(`${runId} ${opts.accept ? "accepted" : "rejected"} by hand`);
      ui.notice(res.best_run_id === res.previous_best_run_id ? `best run unchanged: ${res.best_run_id ?? "none"}` : `best run: ${res.previous_best_run_id ?? "none"} -> ${res.best_run_id ?? "none"}`);
      if (configFrom) ui.notice(`config.py restored from ${configFrom}`);
    }
  } finally {
    release();
  }
}

/** Put config.py on the new incumbent: its config_used.py, else the last search's start snapshot. */
async function followIncumbent(py: { ws: ReturnType<typeof openWorkspace>; env: NodeJS.ProcessEnv }, bestRunId: string | null): Promise<string | null> {
  const search = readSearch(py.ws);
  const rel = bestRunId ? runConfigRel(bestRunId) : search ? startConfigRel(search.thread_id) : null;
  const from = rel ? path.join(py.ws.dir, rel) : null;
  if (!from || !fs.existsSync(from)) {
    ui.warn("no incumbent config to restore; config.py left as is");
    return null;
  }
  await agent(py, ["config-restore", "--from", from]);
  return from;
}
