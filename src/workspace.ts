/**
 * The single-writer lock of a workspace and the search metadata (`.nas-graph/search.json`) that
 * lets `resume` continue the last search with its options; the workspace's paths and JSON files
 * are in ./workspace-paths.ts (re-exported here).
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { UserError } from "./errors.js";
import type { ExecutorOptions } from "./executors/index.js";
import type { Thresholds } from "./evaluation/rules.js";
import { readJson, writeJsonAtomic, type Workspace } from "./workspace-paths.js";
import { RUN_DEFAULTS } from "./run-defaults.js";

// the paths and the JSON files, in a module of their own (the executors and the Python bridge import only those)
export * from "./workspace-paths.js";

// ---------------------------------------------------------------- lock

interface LockInfo {
  pid: number;
  started_at: string;
  command: string;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Take `.nas-graph/lock`. A lock held by a live process is a clear error (exit 3); a stale one
 * (dead pid, or an unreadable file) is taken over with a notice. Returns a release function
 * (also run on exit).
 *
 * Atomic at every step:
 * - the lock appears complete or not at all: its content is written to a temp file that is
 *   then hard-linked to `lock` (link fails if `lock` exists);
 * - two processes that both find the same stale lock do not both take it: each must first
 *   create the claim file `lock.stale-<id of that lock file>` with O_EXCL, and only the one
 *   that creates it removes the stale lock. The other waits, then finds the new live holder.
 */
export function acquireLock(ws: Workspace, command: string, notice: (msg: string) => void): () => void {
  fs.mkdirSync(ws.meta, { recursive: true });
  const info: LockInfo = { pid: process.pid, started_at: new Date().toISOString(), command };
  let claim: string | null = null;
  for (let attempt = 0; attempt < LOCK_ATTEMPTS; attempt++) {
    if (createLock(ws.lock, info)) return lockReleaser(ws.lock, claim);
    const held = inspectLock(ws.lock);
    if (!held) continue; // released in the meantime
    if (held.info && pidAlive(held.info.pid) && held.info.pid !== process.pid) {
      throw new UserError(
        `workspace ${ws.dir} is busy: '${held.info.command}' (pid ${held.info.pid}, started ${held.info.started_at}) holds ${ws.lock}; wait for it to finish or stop it first`,
        3,
      );
    }
    testDelay();
    const marker = `${ws.lock}.stale-${held.id}`;
    try {
      fs.writeFileSync(marker, `${process.pid}\n`, { flag: "wx" });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      sleepSync(LOCK_WAIT_MS); // another process is taking this stale lock over: look again
      continue;
    }
    claim = marker;
    const h = held.info;
    notice(`taking over a stale lock from ${h ? `pid ${h.pid} (${h.command}, started ${h.started_at})` : "an unreadable lock file"}`);
    if (inspectLock(ws.lock)?.id === held.id) fs.rmSync(ws.lock, { force: true });
  }
  throw new UserError(
    `could not take the lock ${ws.lock}; if no nas-graph process runs on this workspace, remove it and any ${path.basename(ws.lock)}.stale-* beside it`,
    3,
  );
}

const LOCK_ATTEMPTS = 40;
const LOCK_WAIT_MS = 50;

/** Create the lock with its full content, or return false when a lock exists. */
function createLock(file: string, info: LockInfo): boolean {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(info) + "\n");
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** The lock's holder (null when unreadable) and an id of this very lock file (inode + content hash). */
function inspectLock(file: string): { info: LockInfo | null; id: string } | null {
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  try {
    const text = fs.readFileSync(fd, "utf8");
    const id = `${fs.fstatSync(fd).ino}-${createHash("sha256").update(text).digest("hex").slice(0, 12)}`;
    let info: LockInfo | null = null;
    try {
      info = JSON.parse(text) as LockInfo;
    } catch {
      info = null;
    }
    return { info: typeof info?.pid === "number" ? info : null, id };
  } finally {
    fs.closeSync(fd);
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Tests only: NAS_TEST_LOCK_TAKEOVER_DELAY_MS widens the window between finding a stale lock and taking it. */
function testDelay(): void {
  const ms = Number(process.env.NAS_TEST_LOCK_TAKEOVER_DELAY_MS ?? 0);
  if (ms > 0) sleepSync(ms);
}

function readLock(file: string): LockInfo | null {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as LockInfo;
  } catch {
    return null;
  }
}

function lockReleaser(file: string, claim: string | null): () => void {
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    const held = readLock(file);
    if (held?.pid === process.pid) fs.rmSync(file, { force: true });
    if (claim) fs.rmSync(claim, { force: true });
  };
  process.on("exit", release);
  return release;
}

// ---------------------------------------------------------------- search metadata

/**
 * Options of a search, recorded so that `resume` continues with the same ones (executor, gpus,
 * slurm: see src/executors/). The one shape of each option from the CLI's check
 * (src/commands/search-options.ts) to the graph's nodes (GraphDeps.options).
 */
export interface SearchOptions extends ExecutorOptions {
  maxIterations: number;
  planner: string;
  evaluator: "llm" | "rules";
  mockFile: string | null;
  targetValMse: number | null;
  maxEpochs: number | null;
  runTimeoutS: number | null;
  review: boolean;
  seed: number | null;
  /** Trainings in flight at once. */
  parallel: number;
  acceptance: "noise" | "fixed";
  /** Seeds of the baseline config: --baseline-seeds, else decided at start (3, or 1 when the seed noise is already measured or acceptance is fixed). */
  baselineSeeds: number;
  maxRepeats: number;
  /** --portfolio on|off: each family at its recipe first. */
  portfolio: boolean;
  /** False-accept rate of the noise test over a candidate's looks (--alpha). */
  alpha: number;
  defaultRelSd: number;
  /** LLM cost cap in USD (--max-cost-usd; resume --max-cost-usd changes it); absent in older records. */
  maxCostUsd?: number | null;
  /** LLM planner rounds in a row that may fall back to the optimizer before the search stops (--max-llm-failures; absent: 3). */
  maxLlmFailures?: number | null;
  thresholds: Thresholds;
}

/** The evaluator's thresholds under one name and unit from the CLI to the rules (percent; --accept-above -> acceptAbove). */
export type { Thresholds } from "./evaluation/rules.js";

export interface SearchRecord {
  thread_id: string;
  started_at: string;
  status: "running" | "paused" | "stopped" | "finished" | "interrupted" | "failed";
  updated_at: string;
  options: SearchOptions;
}

export function readSearch(ws: Workspace): SearchRecord | null {
  const rec = readJson<SearchRecord>(ws.searchFile);
  if (rec?.options) {
    // a search.json of an older version reads the same
    const o = rec.options as Partial<SearchOptions>;
    if (o.thresholds) o.thresholds = thresholdsOf(o.thresholds as unknown as Record<string, number>);
    o.baselineSeeds ??= 1;
    o.portfolio ??= true;
    o.alpha ??= RUN_DEFAULTS.alpha; // records from before --alpha: the margin they used was this rate
  }
  return rec;
}

/** A search.json written while the thresholds were named acceptAbovePct, ... (their flags' names now) reads the same. */
function thresholdsOf(t: Record<string, number>): Thresholds {
  return {
    acceptAbove: t.acceptAbove ?? t.acceptAbovePct,
    rejectBelow: t.rejectBelow ?? t.rejectBelowPct,
    maxRise: t.maxRise ?? t.maxRisePct,
    minBestEpoch: t.minBestEpoch,
  };
}

export function writeSearch(ws: Workspace, rec: SearchRecord): void {
  writeJsonAtomic(ws.searchFile, { ...rec, updated_at: new Date().toISOString() });
}

export function newSearchId(): string {
  return `search-${new Date().toISOString().replace(/[-:]/g, "").replace(/\..*$/, "")}-${process.pid}`;
}

