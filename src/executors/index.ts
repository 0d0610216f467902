/** Pick and check the executor of a search (`--executor local|slurm`, recorded in search.json). */
import { UserError } from "../errors.js";
import type { PyContext } from "../python.js";
import { LocalExecutor } from "./local.js";
import { checkSlurm, SlurmExecutor, type SlurmOptions } from "./slurm.js";
import type { Executor } from "./types.js";

export const EXECUTORS = ["local", "slurm"] as const;
export type ExecutorKind = (typeof EXECUTORS)[number];

/** What a search records about its executor (SearchOptions fields). */
export interface ExecutorOptions {
  executor?: ExecutorKind;
  /** --gpus for the local executor (null: CUDA_VISIBLE_DEVICES). */
  gpus?: string[] | null;
  slurm?: SlurmOptions | null;
}

/** `--gpus 0,1` -> ["0", "1"]; device ids or UUIDs, comma-separated. */
export function parseGpus(text: string): string[] {
  const ids = text.split(",").map((s) => s.trim());
  if (ids.length === 0 || ids.some((s) => !/^[A-Za-z0-9][A-Za-z0-9:_-]*$/.test(s))) {
    throw new UserError(`--gpus '${text}' is not a comma-separated list of GPU ids (e.g. 0,1); fix --gpus`);
  }
  return ids;
}

/** The executor for a search (--parallel: trainings in flight); Slurm is checked first (client commands, options accepted by sbatch --test-only). */
export async function openExecutor(ctx: PyContext, o: ExecutorOptions & { parallel: number }): Promise<Executor> {
  const kind = o.executor ?? "local";
  if (kind === "local") return new LocalExecutor(ctx, { gpus: o.gpus ?? null, parallel: o.parallel });
  if (kind === "slurm") {
    if (!o.slurm) throw new UserError("this search records --executor slurm without its Slurm options; start a new search with 'nas-graph run --executor slurm'");
    await checkSlurm(o.slurm, ctx.env);
    return new SlurmExecutor(ctx, o.slurm);
  }
  throw new UserError(`unknown executor '${String(kind)}'; use one of ${EXECUTORS.join(", ")}`);
}

export type { Executor, TrialJob, TrainOutcome, PrepareResult, RunHooks } from "./types.js";
