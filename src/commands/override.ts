/** `nas-graph override <run_id> --accept|--reject`: manual verdict; config.py follows the incumbent. */
import path from "node:path";
import { UserError } from "../errors.js";
import { agent, type HelperArgs } from "../python.js";
import { ui } from "../ui.js";
import { studyWarning } from "../graph/study.js";
import { acquireLock, openWorkspace, readSearch, startConfigRel } from "../workspace.js";

/** set-accept --follow's answer. */
interface Followed {
  best_run_id: string | null;
  previous_best_run_id: string | null;
  config_restored_from?: string | null;
  restore_warning?: string;
  study_error?: string;
}

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
    const search = readSearch(ws);
    const args: HelperArgs = ["set-accept", "--run-id", runId, opts.accept ? "--accept" : "--reject"];
    args.push("--reason", opts.reason ?? `manual override: ${opts.accept ? "accepted" : "rejected"}`);
    // config.py follows the incumbent (nas_agent's rule, the same as a search round's), then the study syncs
    args.push("--follow", ...(search ? ["--fallback", path.join(ws.dir, startConfigRel(search.thread_id))] : []));
    const res = await agent<Followed>(py, args);
    if (res.study_error) ui.warn(studyWarning(res.study_error));
    if (res.restore_warning) ui.warn(res.restore_warning);
    const configFrom = res.config_restored_from ?? null;
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
