/**
 * Issue 9.7: a `kill -9` of the CLI alone (not its process group) must not leave train.py
 * running, and `resume` stops a training that did survive (here: a Python launcher that
 * drops the parent-death request) before it reuses the run id.
 */
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cliEnv, makeWorkspace, readAgentState, REPO, removeWorkspace, runCli, startCli } from "./helpers/workspace.js";

const dirs: string[] = [];
const pids: number[] = [];
afterEach(() => {
  for (const pid of pids.splice(0)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
  for (const d of dirs.splice(0)) removeWorkspace(d);
});

/** Alive and not a zombie (an orphan reparented to a non-reaping init stays a zombie). */
function running(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^[ZX]$/.test(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0]);
  } catch {
    return false;
  }
}

async function until(what: string, cond: () => boolean, ms: number): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** One epoch of several seconds (10x the tiny training set): no output line for a while. */
const longEpoch = (c: string) => c.replace('"train_size": 600,', '"train_size": 6000,').replace('"max_epochs": 2,', '"max_epochs": 1,');
// an epoch long enough (small batches) that the orphan is still training when `resume` gets to it,
// after its pre-flight check: the orphan dies at its next output line, on the closed pipe
const longRun = (c: string) => longEpoch(c).replace('"batch_size": 32,', '"batch_size": 4,');

function jobRecord(dir: string, runId: string): { pid: number; ended_at: string | null; argv: string[] } {
  return JSON.parse(fs.readFileSync(path.join(dir, ".nas-graph", "jobs", `${runId}.json`), "utf8"));
}

describe.runIf(process.platform === "linux")("kill -9 of the CLI during training", () => {
  it("takes train.py down with it, and resume retrains the run cleanly", async () => {
    const dir = makeWorkspace(longEpoch);
    dirs.push(dir);
    const cli = startCli(["run", "--system-dir", dir, "--planner", "optuna", "--max-iterations", "1", "--gpus", "0"]);
    await cli.waitFor(/run_0000 training: up to /); // model built; the first epoch takes several seconds
    // the executor and its options are recorded for resume
    expect(JSON.parse(fs.readFileSync(path.join(dir, ".nas-graph", "search.json"), "utf8")).options).toMatchObject({ executor: "local", gpus: ["0"] });
    const rec = jobRecord(dir, "run_0000");
    expect(rec.ended_at).toBeNull();
    expect(rec.argv).toEqual(expect.arrayContaining(["train.py", "--tag", "run_0000"]));
    pids.push(rec.pid);
    expect(running(rec.pid)).toBe(true);
    process.kill(cli.child.pid!, "SIGKILL"); // the CLI alone: its child is not signalled by us
    expect((await cli.done).signal).toBe("SIGKILL");
    // well before its next output line (which would fail on the closed pipe)
    await until("train.py to die with its parent", () => !running(rec.pid), 3000);

    const res = await runCli(["resume", "--system-dir", dir, "--json"]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(/moved the incomplete run_0000 from an interrupted attempt .* retraining it/);
    const state = readAgentState(dir);
    expect(state.runs).toHaveLength(1);
    expect(state.runs[0]).toMatchObject({ run_id: "run_0000", status: "ok", accepted: true });
    expect(jobRecord(dir, "run_0000").ended_at).not.toBeNull();
  });

  it("resume stops a train.py that survived the CLI before it reuses the run id", async () => {
    // A launcher that drops NAS_PARENT_PID: train.py cannot ask for the parent-death signal.
    const dir = makeWorkspace(longRun);
    dirs.push(dir);
    const python = path.join(REPO, ".venv", "bin", "python");
    const wrapper = path.join(dir, "python-no-pdeathsig");
    fs.writeFileSync(wrapper, `#!/bin/sh\nunset NAS_PARENT_PID\nexec "${python}" "$@"\n`, { mode: 0o755 });
    const env = cliEnv({ NAS_PYTHON: wrapper });
    const cli = startCli(["run", "--system-dir", dir, "--planner", "optuna", "--max-iterations", "1"], { env });
    await cli.waitFor(/run_0000 training: up to /);
    const orphan = jobRecord(dir, "run_0000").pid;
    pids.push(orphan);
    process.kill(cli.child.pid!, "SIGKILL");
    await cli.done;
    await new Promise((r) => setTimeout(r, 500));
    expect(running(orphan)).toBe(true); // survived: nothing took it down

    const res = await runCli(["resume", "--system-dir", dir, "--json"], { env });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(new RegExp(`stopping the leftover train.py \\(pid ${orphan}\\) of an earlier attempt of run_0000`));
    expect(running(orphan)).toBe(false);
    const state = readAgentState(dir);
    expect(state.runs).toHaveLength(1);
    expect(state.runs[0]).toMatchObject({ run_id: "run_0000", status: "ok" });
    expect(fs.readdirSync(path.join(dir, "runs"))).toEqual(["run_0000"]);
  });
});
