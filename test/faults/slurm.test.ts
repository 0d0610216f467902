/**
 * Slurm faults (issue 18, family 6) against the one-node Slurm of scripts/slurm-up.sh, with the
 * contract-honouring stand-in trainer (test/helpers/stand-ins.ts): the faults are about jobs,
 * not training. Regression tests of three defects: a new `run` never adopts a killed search's
 * jobs; queue time is never run time; NODE_FAIL and BOOT_FAIL are submitted once more, within the budget. And
 * a controller that stops answering (sbatch, squeue or scontrol failing for good) stops the
 * search with one line instead of polling forever.
 */
import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { cliEnv, makeWorkspace, readAgentState, removeWorkspace, runCli, startCli } from "../helpers/workspace.js";
import { SLURM, jobsNamed, scontrol, slurmEnv } from "../helpers/slurm.js";
import { fakeTrainingPython } from "../helpers/stand-ins.js";
import { record } from "./ledger.js";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs.splice(0)) removeWorkspace(d);
});

const POLL = ["--slurm-poll", "0.5"];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function workspace(): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = makeWorkspace();
  dirs.push(dir);
  return { dir, env: cliEnv({ ...slurmEnv(), NAS_PYTHON: fakeTrainingPython(dir, { hash_default: true }) }) };
}

function readJson<T = Record<string, unknown>>(file: string): T {
  return JSON.parse(fs.readFileSync(file, "utf8")) as T;
}

const jobRecord = (dir: string, runId: string) =>
  readJson<{ job_id: string; job_name: string; search_id: string; attempt: number; state: string | null; ended_at: string | null }>(
    path.join(dir, ".nas-graph", "jobs", `${runId}.json`),
  );
const searchId = (dir: string): string => readJson<{ thread_id: string }>(path.join(dir, ".nas-graph", "search.json")).thread_id;

async function until<T>(what: string, get: () => T | null | undefined, ms = 60_000): Promise<T> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(100)) {
    const v = get();
    if (v != null) return v;
  }
  throw new Error(`timed out waiting for ${what}`);
}

function sbatch(args: string[]): string {
  return execFileSync("sbatch", ["--parsable", ...args], { env: cliEnv(slurmEnv()), encoding: "utf8" }).trim().split(";")[0];
}

function slurm(bin: string, args: string[]): void {
  execFileSync(bin, args, { env: cliEnv(slurmEnv()), encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/**
 * A PATH folder of Slurm client commands: `failing[bin] = n` makes the first n calls of bin fail
 * as a controller that does not answer would (n < 0: every call), sbatch --test-only excepted;
 * `missing` commands are left out. Everything else runs the real command.
 */
function slurmShims(dir: string, failing: Record<string, number>, missing: string[] = []): string {
  const bin = fs.mkdtempSync(path.join(dir, "shim-"));
  // the stand-in interpreter is a bash script: bash stays reachable on a PATH of this folder alone
  fs.symlinkSync(execFileSync("sh", ["-c", "command -v bash"], { encoding: "utf8" }).trim(), path.join(bin, "bash"));
  for (const cmd of ["sbatch", "squeue", "scontrol", "scancel"]) {
    if (missing.includes(cmd)) continue;
    const real = execFileSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" }).trim();
    const n = failing[cmd] ?? 0;
    const count = path.join(bin, `${cmd}.calls`);
    fs.writeFileSync(path.join(bin, cmd), `#!/bin/sh
case " $* " in *" --test-only "*) exec "${real}" "$@";; esac
n=$(cat "${count}" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > "${count}"
if [ ${n} -lt 0 ] || [ $n -le ${n} ]; then echo "${cmd}: error: Unable to contact slurm controller (connect failure)" >&2; exit 1; fi
exec "${real}" "$@"
`, { mode: 0o755 });
  }
  return bin;
}

describe.skipIf(!SLURM.conf)("Slurm faults", () => {
  it("sbatch and squeue failing transiently: tried again, one job, the run trained", async () => {
    const { dir, env } = workspace();
    const bin = slurmShims(dir, { sbatch: 2, squeue: 2 });
    const res = await runCli(["run", "--system-dir", dir, "--executor", "slurm", ...POLL, "--planner", "optuna", "--max-iterations", "1", "--json"],
      { env: { ...env, PATH: `${bin}:${env.PATH}` } });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toContain("sbatch failed for run_0000 (sbatch: error: Unable to contact slurm controller (connect failure)); trying again in 1 s");
    expect(res.stderr).not.toMatch(/Traceback|\n\s+at /);
    expect(fs.readFileSync(path.join(bin, "sbatch.calls"), "utf8").trim()).toBe("3");
    expect(jobsNamed(`nas-${searchId(dir)}-run_0000`)).toHaveLength(1);
    const runs = readAgentState(dir).runs;
    expect(runs.map((r) => [r.run_id, r.status])).toEqual([["run_0000", "ok"]]);
    record({ name: "slurm/sbatch-and-squeue-transient", survived: true, runsLost: 1 - runs.length, executed: 0 });
  });

  it("squeue failing for good stops the search with one line; squeue missing is named; resume then finishes", async () => {
    const { dir, env } = workspace();
    const down = slurmShims(dir, { squeue: -1 });
    const res = await runCli(["run", "--system-dir", dir, "--executor", "slurm", ...POLL, "--planner", "optuna", "--max-iterations", "1"],
      { env: { ...env, PATH: `${down}:${env.PATH}` } });
    expect(res.code, res.stderr).toBe(2);
    const errors = res.stderr.split("\n").filter((l) => l.startsWith("error:"));
    expect(errors).toEqual([
      "error: squeue failed (squeue: error: Unable to contact slurm controller (connect failure)); check that the Slurm controller is up, then 'nas-graph resume'",
    ]);
    expect(res.stderr).not.toMatch(/Traceback|\n\s+at /);
    const missing = slurmShims(dir, {}, ["squeue"]);
    const none = await runCli(["resume", "--system-dir", dir], { env: { ...env, PATH: missing } });
    expect(none.code, none.stderr).toBe(2);
    expect(none.stderr.trim().split("\n").pop()).toBe(
      "error: --executor slurm: squeue is not on PATH; run on a Slurm login node or add the Slurm client commands to PATH",
    );
    const ok = await runCli(["resume", "--system-dir", dir, "--json"], { env });
    expect(ok.code, ok.stderr).toBe(0);
    expect(jobsNamed(`nas-${searchId(dir)}-run_0000`)).toHaveLength(1);
    const runs = readAgentState(dir).runs;
    expect(runs.map((r) => [r.run_id, r.status])).toEqual([["run_0000", "ok"]]);
    record({ name: "slurm/squeue-failing", survived: true, runsLost: 1 - runs.length, executed: 0 });
    record({ name: "slurm/squeue-missing", survived: true, runsLost: 0, executed: 0 });
  });

  it("scontrol failing for good with 2 jobs in flight: one line, bounded; resume adopts both jobs, none submitted twice", async () => {
    const { dir, env } = workspace();
    const down = slurmShims(dir, { scontrol: -1 });
    const t0 = Date.now();
    const res = await runCli(["run", "--system-dir", dir, "--executor", "slurm", ...POLL, "--planner", "optuna", "--parallel", "2", "--max-iterations", "2"],
      { env: { ...env, PATH: `${down}:${env.PATH}` } });
    expect(res.code, res.stderr).toBe(2);
    expect(Date.now() - t0).toBeLessThan(120_000); // tried again after 1, 2 and 4 s, then stopped: never a poll forever
    const errors = res.stderr.split("\n").filter((l) => l.startsWith("error:"));
    expect(errors).toEqual([
      "error: scontrol failed (scontrol: error: Unable to contact slurm controller (connect failure)); check that the Slurm controller is up, then 'nas-graph resume'",
    ]);
    expect(res.stderr).not.toMatch(/Traceback|\n\s+at /);
    expect(Number(fs.readFileSync(path.join(down, "scontrol.calls"), "utf8"))).toBeGreaterThanOrEqual(4);
    const jobs = ["run_0000", "run_0001"].map((r) => jobRecord(dir, r));
    expect(jobs.map((j) => [j.search_id, j.ended_at])).toEqual([[searchId(dir), null], [searchId(dir), null]]); // left for resume, not judged

    const ok = await runCli(["resume", "--system-dir", dir, "--json"], { env });
    expect(ok.code, ok.stderr).toBe(0);
    for (const j of jobs) expect(jobsNamed(j.job_name)).toEqual([j.job_id]); // adopted, never resubmitted
    const runs = readAgentState(dir).runs;
    expect(runs.map((r) => [r.run_id, r.status])).toEqual([["run_0000", "ok"], ["run_0001", "ok"]]);
    expect(JSON.parse(ok.stdout)).toMatchObject({ status: "finished", n_runs: 2 });
    record({ name: "slurm/scontrol-failing-for-good", survived: true, runsLost: 2 - runs.length, executed: 0 });
  });

  it("a new run after a search killed with a job pending: the job is cancelled, never adopted; run ids are not reused", async () => {
    const { dir, env } = workspace();
    // search A: its job is held in the queue (PENDING), then the CLI is killed
    const a = startCli(["run", "--system-dir", dir, "--executor", "slurm", ...POLL, "--slurm-args", "--hold", "--planner", "optuna", "--max-iterations", "1"], { env });
    await a.waitFor(/submitted run_0000 as Slurm job \d+/);
    const searchA = searchId(dir);
    const heldA = jobRecord(dir, "run_0000");
    process.kill(-a.child.pid!, "SIGKILL");
    expect((await a.done).signal).toBe("SIGKILL");
    expect(scontrol(heldA.job_id)?.JobState).toBe("PENDING");

    // search B: a new run on the same workspace
    const b = await runCli(["run", "--system-dir", dir, "--executor", "slurm", ...POLL, "--planner", "optuna", "--max-iterations", "1", "--json"], { env });
    expect(b.code, b.stderr).toBe(0);
    const searchB = searchId(dir);
    expect(searchB).not.toBe(searchA);
    expect(b.stderr).toContain(`cancelled Slurm job ${heldA.job_id} (run_0000) of the earlier search ${searchA}: a new search does not adopt it`);
    expect(b.stderr).not.toMatch(/adopting Slurm job|of an earlier attempt of run_0000/);
    expect(scontrol(heldA.job_id)?.JobState).toBe("CANCELLED");
    // B reserved a fresh id: A's pending job had no run dir, only its job record
    const runs = readAgentState(dir).runs;
    expect(runs.map((r) => [r.run_id, r.status])).toEqual([["run_0001", "ok"]]);
    expect(jobRecord(dir, "run_0001")).toMatchObject({ search_id: searchB, job_name: `nas-${searchB}-run_0001`, state: "COMPLETED" });
    expect(jobRecord(dir, "run_0000")).toMatchObject({ search_id: searchA, job_id: heldA.job_id });
    expect(jobsNamed(`nas-${searchB}-run_0001`)).toHaveLength(1);
    record({ name: "slurm/new-run-after-kill-with-pending-job", survived: true, runsLost: 1 - runs.length, executed: 0 });
  });

  it("queue time is not run time: a Ctrl-C after a long wait in the queue is retrained on resume, not a timeout", async () => {
    const { dir, env } = workspace();
    fakeTrainingPython(dir, { hash_default: true, hang_first: true });
    // a job of someone else holds the whole node, so the trial's job waits in the queue
    const blocker = sbatch(["--exclusive", "--job-name", "nas-fault-blocker", "--output", "/dev/null", "--wrap", "sleep 300"]);
    try {
      await until("the blocker to run", () => (scontrol(blocker)?.JobState === "RUNNING" ? true : null));
      const cli = startCli(["run", "--system-dir", dir, "--executor", "slurm", ...POLL, "--run-timeout", "10", "--planner", "optuna", "--max-iterations", "1"], { env });
      await cli.waitFor(/submitted run_0000 as Slurm job \d+/);
      const id = jobRecord(dir, "run_0000").job_id;
      const attemptFile = path.join(dir, ".nas-graph", "attempts", "run_0000.json");
      await sleep(11_000); // longer than --run-timeout, in the queue
      expect(scontrol(id)?.JobState).toBe("PENDING");
      expect(readJson(attemptFile).started_at_ms).toBeNull(); // not started yet
      const released = Date.now();
      slurm("scancel", [blocker]);
      const started = await until("the job's start", () => readJson<{ started_at_ms: number | null }>(attemptFile).started_at_ms);
      await until("the training to run", () => (fs.existsSync(path.join(dir, ".fake-hung-run_0000")) ? true : null));
      process.kill(-cli.child.pid!, "SIGINT");
      const stopped = await cli.done;
      expect(stopped.code, stopped.stderr).toBe(130);
      expect(started).toBeGreaterThanOrEqual(released - 1500); // the job's StartTime (whole seconds), not the sbatch time
      expect(started).toBe(Date.parse(scontrol(id)!.StartTime));
      expect(readJson<{ stopped?: { verdict: string } }>(attemptFile).stopped?.verdict).toBe("interrupted"); // the executor's, before its scancel

      const res = await runCli(["resume", "--system-dir", dir, "--json"], { env });
      expect(res.code, res.stderr).toBe(0);
      expect(res.stderr).toMatch(/moved the incomplete run_0000 from an interrupted attempt to .*; retraining it/);
      expect(res.stderr).not.toMatch(/already finished in an interrupted attempt/);
      expect(jobsNamed(jobRecord(dir, "run_0000").job_name)).toHaveLength(2);
      const runs = readAgentState(dir).runs;
      expect(runs.map((r) => [r.run_id, r.status])).toEqual([["run_0000", "ok"]]);
      record({ name: "slurm/queue-time-then-ctrl-c", survived: true, runsLost: 1 - runs.length, executed: 0 });
    } finally {
      try {
        slurm("scancel", [blocker]);
      } catch {
        /* gone */
      }
    }
  });

  it("a Ctrl-C while a poll is in flight cancels the job: the terminal's SIGINT reaches the whole group, scontrol included", async () => {
    // A slow controller: every scontrol takes a second, so the terminal's SIGINT (sent to the whole
    // process group, as a shell does) lands while a poll is in flight. The search must still
    // scancel its job, never leave it training for nobody.
    const { dir, env } = workspace();
    fakeTrainingPython(dir, { hash_default: true, hang_first: true });
    const bin = fs.mkdtempSync(path.join(dir, "shim-"));
    const real = execFileSync("sh", ["-c", "command -v scontrol"], { encoding: "utf8" }).trim();
    const inFlight = path.join(bin, "in-flight");
    fs.writeFileSync(path.join(bin, "scontrol"), `#!/bin/sh\ntouch "${inFlight}"\nsleep 1\nrm -f "${inFlight}"\nexec "${real}" "$@"\n`, { mode: 0o755 });
    const cli = startCli(["run", "--system-dir", dir, "--executor", "slurm", ...POLL, "--planner", "optuna", "--max-iterations", "1"],
      { env: { ...env, PATH: `${bin}:${env.PATH}` } });
    await cli.waitFor(/submitted run_0000 as Slurm job \d+/);
    const id = jobRecord(dir, "run_0000").job_id;
    await until("the training to run", () => (fs.existsSync(path.join(dir, ".fake-hung-run_0000")) ? true : null));
    fs.rmSync(inFlight, { force: true });
    await until("a poll in flight", () => (fs.existsSync(inFlight) ? true : null));
    process.kill(-cli.child.pid!, "SIGINT");
    const stopped = await cli.done;
    try {
      expect(stopped.code, stopped.stderr).toBe(130);
      expect(stopped.stderr).not.toMatch(/cannot run scontrol/);
      expect(scontrol(id)?.JobState ?? "CANCELLED").toMatch(/^CANCELLED/); // the search waited for its scancel to take
    } finally {
      slurm("scancel", [id]); // never leave a hung job on the node the other tests share
    }
    record({ name: "slurm/ctrl-c-during-poll", survived: true, runsLost: 0, executed: 0 });
  });

  it.each([
    ["NODE_FAIL", "NodeFail", "slurm/node-fail"],
    ["BOOT_FAIL", "BootFail", "slurm/boot-fail"],
    ["TIMEOUT", "TimeLimit", "slurm/time-limit-budget"], // its resubmission costs one unit, as the node failures'
  ])("a job whose node fails or hits its limit (%s): submitted once more, the same run id, one unit of the budget", async (state, reason, ledger) => {
    // The one node is shared with the main suite's Slurm tests, which may run at the same time: it
    // is not set DOWN here. The job is ended for real (scancel) and an scontrol shim reports that
    // job in the state a node failure leaves it in.
    const { dir, env } = workspace();
    fakeTrainingPython(dir, { hash_default: true, hang_first: true });
    const bin = fs.mkdtempSync(path.join(dir, "shim-"));
    const failed = path.join(bin, "node-failed-job");
    const real = execFileSync("sh", ["-c", "command -v scontrol"], { encoding: "utf8" }).trim();
    fs.writeFileSync(path.join(bin, "scontrol"), `#!/bin/sh
id=$(cat "${failed}" 2>/dev/null)
case " $* " in *" show job -o $id "*) [ -n "$id" ] && { "${real}" "$@" | sed -e 's/JobState=[A-Z_]*/JobState=${state}/' -e 's/Reason=[^ ]*/Reason=${reason}/'; exit 0; };; esac
exec "${real}" "$@"
`, { mode: 0o755 });
    const cli = startCli(["run", "--system-dir", dir, "--executor", "slurm", ...POLL, "--planner", "optuna", "--max-iterations", "1", "--json"],
      { env: { ...env, PATH: `${bin}:${env.PATH}` } });
    await cli.waitFor(/submitted run_0000 as Slurm job \d+/);
    const first = jobRecord(dir, "run_0000").job_id;
    await until("the job to run", () => (fs.existsSync(path.join(dir, ".fake-hung-run_0000")) ? true : null));
    fs.writeFileSync(failed, first);
    slurm("scancel", [first]);
    const res = await cli.done;
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toContain(`Slurm job ${first} of run_0000 ended in ${state}; submitting it once more`);
    expect(jobRecord(dir, "run_0000")).toMatchObject({ attempt: 2, state: "COMPLETED" });
    const runs = readAgentState(dir).runs;
    expect(runs.map((r) => [r.run_id, r.status])).toEqual([["run_0000", "ok"]]); // --max-iterations 1: one trial, two jobs
    expect(JSON.parse(res.stdout)).toMatchObject({ status: "finished", iterations: 1, n_runs: 1 });
    record({ name: ledger, survived: true, runsLost: 1 - runs.length, executed: 0 });
  });
});
