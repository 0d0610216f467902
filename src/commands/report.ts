/**
 * `nas-graph report`: writes `<system-dir>/runs/report.html` (self-contained, plots embedded)
 * and `runs/report.md` through `python -m nas_agent report` (matplotlib plots on the Python
 * side) and prints the path of the HTML file.
 */
import path from "node:path";
import { agent, type HelperArgs } from "../python.js";
import { openWorkspace, readSearch, type Workspace } from "../workspace.js";

export interface ReportOptions {
  systemDir: string;
  targetValMse?: number;
  json?: boolean;
  /** The fidelity shown: a recorded key or an epoch cap N (default: the current one). */
  fidelity?: string;
}

export interface ReportResult {
  html: string;
  md: string;
  images: number;
  runs: number;
}

export async function reportCommand(opts: ReportOptions, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const ws = openWorkspace(opts.systemDir);
  const res = await writeReport(ws, env, opts.targetValMse, opts.fidelity);
  if (opts.json) process.stdout.write(JSON.stringify(res) + "\n");
  else process.stdout.write(`report: ${res.html}\n`);
}

/** The target line: the option, else the last search's --target-val-mse. */
export async function writeReport(ws: Workspace, env: NodeJS.ProcessEnv, target?: number, fidelity?: string): Promise<ReportResult> {
  // a lost, corrupt or empty agent_state.json: the helper's one line (nas_agent report)
  const t = target ?? readSearch(ws)?.options.targetValMse ?? null;
  const args: HelperArgs = ["report", "--decisions", ws.decisions, ...(t != null ? ["--target", String(t)] : []), ...(fidelity ? ["--fidelity", fidelity] : [])];
  const res = await agent<ReportResult & { ok: true }>({ ws, env }, args);
  return { html: path.resolve(res.html), md: path.resolve(res.md), images: res.images, runs: res.runs };
}
