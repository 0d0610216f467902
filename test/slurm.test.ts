/**
 * `--executor slurm` against a real one-node Slurm (scripts/slurm-up.sh; CI brings it up).
 * The jobs are under test, not the training: each job runs the torch-free train.py stand-in
 * (test/helpers/fake_train.py, train.py's contract in milliseconds). Two jobs at once through
 * the executor, a job that fails with exit code 3, a job cancelled mid-run (by scancel, and by
 * Ctrl-C), and a SIGKILL of the CLI while its job runs, then `resume`: the job is re-adopted,
 * never submitted twice. Option checks that need no cluster run everywhere.
 */
import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { SlurmExecutor, jobName } from "../src/executors/slurm.js";
import type { TrialJob } from "../src/executors/types.js";
import { workspacePaths } from "../src/workspace.js";
import { cliEnv, readAgentState, runCli, startCli, tempWorkspaces } from "./helpers/workspace.js";
import { SLURM, jobsNamed, scontrol, slurmEnv } from "./helpers/slurm.js";
import { fakeTrainingPython, type FakeTraining } from "./helpers/stand-ins.js";

const workspace = tempWorkspaces();
/** A workspace whose trainings (jobs included) run the stand-in, and the CLI's environment for it. */
function standIn(spec: FakeTraining = {}, edit?: (config: string) => string): { dir: string; env: NodeJS.ProcessEnv; python: string } {
  const dir = workspace(edit);
  const python = fakeTrainingPython(dir, spec);
  return { dir, env: cliEnv({ ...slurmEnv(), NAS_PYTHON: python }), python };
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Waits until the stand-in's first training of this run hangs (spec hang_first): the job runs. */
async function hanging(dir: string, runId: string): Promise<void> {
  for (const end = Date.now() + 120_000; !fs.existsSync(path.join(dir, `.fake-hung-${runId}`)); await sleep(100)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${runId}'s job to run`);
  }
}

const POLL = ["--slurm-poll", "0.5"];
const fourEpochs = (c: string) => c.replace('"max_epochs": 2,', '"max_epochs": 4,').replace('"patience": 2,', '"patience": 4,');

function jobRecord(dir: string, runId: string): { job_id: string; job_name: string; state: string | null; exit_code: number | null; ended_at: string | null; attempt: number } {
  return JSON.parse(fs.readFileSync(path.join(dir, ".nas-graph", "jobs", `${runId}.json`), "utf8"));
}

function searchId(dir: string): string {
  return JSON.parse(fs.readFileSync(path.join(dir, ".nas-graph", "search.json"), "utf8")).thread_id;
}

describe("--executor slurm: options checked up front", () => {
  it("names the missing client command when Slurm is not on PATH", async () => {
    const dir = workspace();
    const empty = fs.mkdtempSync(path.join(dir, "bin-")); // a PATH without any Slurm command (node and python are absolute)
    const env = cliEnv({ PATH: empty });
    const res = await runCli(["run", "--system-dir", dir, "--executor", "slurm", "--planner", "optuna", "--max-iterations", "1"], { env });
    expect(res.code).toBe(2);
    expect(res.stderr.trim().split("\n").pop()).toBe(
      "error: --executor slurm: sbatch is not on PATH; run on a Slurm login node or add the Slurm client commands to PATH",
    );
    expect(fs.existsSync(path.join(dir, "runs"))).toBe(false);
  });

  it("rejects a malformed time limit and options that nas-graph sets itself", async () => {
    const dir = workspace();
    const bad = await runCli(["run", "--system-dir", dir, "--executor", "slurm", "--slurm-time", "two hours", "--planner", "optuna"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split("\n").pop()).toMatch(/^error: Slurm time limit 'two hours' is not a Slurm time .*fix --slurm-time \/ NAS_SLURM_TIME$/);
    const own = await runCli(["run", "--system-dir", dir, "--executor", "slurm", "--planner", "optuna"], { env: cliEnv({ NAS_SLURM_ARGS: "--mem=1G --job-name x" }) });
    expect(own.code).toBe(2);
    expect(own.stderr.trim().split("\n").pop()).toBe("error: --slurm-args / NAS_SLURM_ARGS may not set --job-name: nas-graph sets it for each job; remove it");
    const local = await runCli(["run", "--system-dir", dir, "--slurm-partition", "gpu", "--planner", "optuna"]);
    expect(local.code).toBe(2);
    expect(local.stderr.trim().split("\n").pop()).toBe("error: --slurm-* options need --executor slurm");
  });
});

describe.skipIf(!SLURM.conf)("--executor slurm on a real one-node Slurm", () => {
  it("rejects options that Slurm refuses before any training (sbatch --test-only)", async () => {
    const { dir, env } = standIn();
    const res = await runCli(["run", "--system-dir", dir, "--executor", "slurm", "--slurm-partition", "nope", "--planner", "optuna"], { env });
    expect(res.code).toBe(2);
    expect(res.stderr.trim().split("\n").pop()).toBe(
      "error: Slurm rejects the job options (sbatch: error: invalid partition specified: nope); fix --slurm-partition/--slurm-gres/--slurm-time/--slurm-args or NAS_SLURM_*",
    );
  });

  it("runs two trials at once (K=2) through the executor, each one job", async () => {
    const { dir, env } = standIn({ epoch_s: 1.5 }); // each job runs 3 s: long enough to overlap
    // the second trial: its own config file outside config.py, with another learning rate
    fs.mkdirSync(path.join(dir, "trials"));
    fs.writeFileSync(path.join(dir, "trials", "b.py"), fs.readFileSync(path.join(dir, "config.py"), "utf8").replace('"lr": 5e-05', '"lr": 0.001'));
    const ex = new SlurmExecutor({ ws: workspacePaths(dir), env }, { partition: null, gres: null, time: null, args: [], pollS: 0.5 });
    const job = (runId: string, configPath: string, slot: number): TrialJob => ({
      runId, searchId: "k2", configPath, seed: 7, maxEpochs: null, timeoutS: null, slot,
    });
    const lines: Record<string, string[]> = { run_0000: [], run_0001: [] };
    const run = (j: TrialJob) =>
      ex.run(j, { signal: new AbortController().signal, onLine: (l) => lines[j.runId].push(l) });
    const [a, b] = await Promise.all([run(job("run_0000", "config.py", 0)), run(job("run_0001", "trials/b.py", 1))]);
    for (const [id, out] of [["run_0000", a], ["run_0001", b]] as const) {
      expect(out, lines[id].join("\n")).toMatchObject({ exitCode: 0, timedOut: false, canceled: false });
      const metrics = JSON.parse(fs.readFileSync(path.join(dir, "runs", id, "metrics.json"), "utf8"));
      expect(metrics).toMatchObject({ status: "ok", seed: 7 });
      expect(lines[id].some((l) => l.startsWith("epoch 2/2 "))).toBe(true); // the job's output, streamed
      expect(jobRecord(dir, id)).toMatchObject({ job_id: out.jobId, job_name: `nas-k2-${id}`, state: "COMPLETED", exit_code: 0 });
    }
    expect(a.jobId).not.toBe(b.jobId);
    expect(fs.readFileSync(path.join(dir, "runs", "run_0001", "config_used.py"), "utf8")).toContain('"lr": 0.001');
    // both ran at once: their run intervals overlap
    const [ja, jb] = [scontrol(a.jobId!)!, scontrol(b.jobId!)!];
    expect(ja.StartTime < jb.EndTime && jb.StartTime < ja.EndTime, `${ja.StartTime}-${ja.EndTime} vs ${jb.StartTime}-${jb.EndTime}`).toBe(true);
  });

  it("a diverging trial's job fails with exit code 3 and is recorded as diverged", async () => {
    const { dir, env } = standIn({ diverge: true });
    const res = await runCli(["run", "--system-dir", dir, "--executor", "slurm", ...POLL, "--planner", "optuna", "--max-iterations", "1", "--json"], { env });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(/submitted run_0000 as Slurm job \d+/);
    expect(res.stderr).toMatch(/\[run_0000\] diverged: /); // the job's own output, streamed
    const rec = jobRecord(dir, "run_0000");
    expect(rec).toMatchObject({ state: "FAILED", exit_code: 3, job_name: `nas-${searchId(dir)}-run_0000` });
    expect(scontrol(rec.job_id)).toMatchObject({ JobState: "FAILED", ExitCode: "3:0" });
    const run = readAgentState(dir).runs[0];
    expect(run).toMatchObject({ run_id: "run_0000", status: "diverged", accepted: false });
    expect(String(run.error)).toMatch(/became/);
  });

  it("a job cancelled mid-run (scancel) is a stopped run, and the search goes on", async () => {
    const { dir, env } = standIn({ hang_first: true });
    const cli = startCli(["run", "--system-dir", dir, "--executor", "slurm", ...POLL, "--planner", "optuna", "--max-iterations", "1", "--json"], { env });
    await hanging(dir, "run_0000");
    const id = jobRecord(dir, "run_0000").job_id;
    execFileSync("scancel", [id], { env });
    const res = await cli.done;
    expect(res.code, res.stderr).toBe(0);
    expect(scontrol(id)?.JobState).toBe("CANCELLED");
    const run = readAgentState(dir).runs[0];
    expect(run).toMatchObject({ run_id: "run_0000", status: "interrupted", accepted: false });
    expect(String(run.error)).toMatch(/interrupted by a signal/); // the training's failure.json: it got Slurm's SIGTERM
  });

  it("Ctrl-C cancels the job (scancel); resume submits the trial again and finishes it", async () => {
    const { dir, env } = standIn({ hang_first: true });
    const cli = startCli(["run", "--system-dir", dir, "--executor", "slurm", ...POLL, "--planner", "optuna", "--max-iterations", "1"], { env });
    await hanging(dir, "run_0000");
    const first = jobRecord(dir, "run_0000").job_id;
    process.kill(-cli.child.pid!, "SIGINT");
    const stopped = await cli.done;
    expect(stopped.code, stopped.stderr).toBe(130);
    expect(scontrol(first)?.JobState).toBe("CANCELLED");

    const res = await runCli(["resume", "--system-dir", dir, "--json"], { env });
    expect(res.code, res.stderr).toBe(0);
    const second = jobRecord(dir, "run_0000");
    expect(second.job_id).not.toBe(first);
    expect(second).toMatchObject({ state: "COMPLETED", exit_code: 0 });
    expect(readAgentState(dir).runs).toMatchObject([{ run_id: "run_0000", status: "ok", accepted: true }]);
  });

  it("--run-timeout cancels the job (scancel) and records a timeout", async () => {
    const { dir, env } = standIn({ hang_first: true });
    const res = await runCli(
      ["run", "--system-dir", dir, "--executor", "slurm", ...POLL, "--run-timeout", "3", "--planner", "optuna", "--max-iterations", "1"],
      { env },
    );
    expect(res.code, res.stderr).toBe(0);
    const rec = jobRecord(dir, "run_0000");
    expect(scontrol(rec.job_id)?.JobState).toBe("CANCELLED");
    const run = readAgentState(dir).runs[0];
    expect(run).toMatchObject({ run_id: "run_0000", status: "timeout" });
    // the cause, or the training's failure.json when the SIGTERM reached its training loop
    expect(String(run.error)).toMatch(/^(training exceeded --run-timeout 3s|interrupted by a signal)/);
    // the executor's verdict, written before its scancel: what a resume would read
    const attempt = JSON.parse(fs.readFileSync(path.join(dir, ".nas-graph", "attempts", "run_0000.json"), "utf8"));
    expect(attempt.stopped.verdict).toBe("timeout");
  });

  it("adopts a job of this trial found by name (submitted, then the CLI died before recording it)", async () => {
    const { dir, env, python } = standIn();
    const ws = workspacePaths(dir);
    const name = jobName({ searchId: "lost", runId: "run_0000" });
    const id = execFileSync(
      "sbatch",
      ["--parsable", "--chdir", dir, "--output", path.join(dir, "%x-%j.log"), "--job-name", name, "--wrap", `exec ${python} -u train.py --config config.py --tag run_0000`],
      { env, encoding: "utf8" },
    ).trim();
    const ex = new SlurmExecutor({ ws, env }, { partition: null, gres: null, time: null, args: [], pollS: 0.5 });
    const job: TrialJob = { runId: "run_0000", searchId: "lost", configPath: "config.py", seed: null, maxEpochs: null, timeoutS: null, slot: 0 };
    const notices: string[] = [];
    expect(await ex.prepare(job, { notice: (m) => notices.push(m) })).toEqual({ adopt: id, stale: false });
    const out = await ex.run(job, { signal: new AbortController().signal, onLine: () => {}, notice: (m) => notices.push(m) });
    expect(out).toMatchObject({ exitCode: 0, jobId: id });
    expect(notices).toContain(`adopting Slurm job ${id} (${name}) of an earlier attempt`);
    expect(notices.some((n) => n.startsWith("submitted"))).toBe(false);
    expect(jobsNamed(name)).toEqual([id]);
    expect(fs.existsSync(path.join(dir, "runs", "run_0000", "metrics.json"))).toBe(true);
  });

  it("a job that hits its time limit is submitted once more, its stopped attempt set aside", async () => {
    // The first attempt hangs before training (a launcher that waits on first use); Slurm's
    // shortest limit is one minute, checked every half minute: this test takes about 100 s.
    const { dir, python } = standIn();
    const launcher = path.join(dir, "python-hangs-once");
    const hang = `case "$*" in *train.py*--tag*) if [ ! -e hung ]; then touch hung; mkdir -p runs/run_0000; exec sleep 300; fi;; esac`;
    fs.writeFileSync(launcher, `#!/bin/sh\n${hang}\nexec "${python}" "$@"\n`, { mode: 0o755 });
    const res = await runCli(
      ["run", "--system-dir", dir, "--executor", "slurm", ...POLL, "--slurm-time", "1", "--planner", "optuna", "--max-iterations", "1"],
      { env: cliEnv({ ...slurmEnv(), NAS_PYTHON: launcher }) },
    );
    expect(res.code, res.stderr).toBe(0);
    const first = /submitted run_0000 as Slurm job (\d+)/.exec(res.stderr)![1];
    expect(res.stderr).toMatch(new RegExp(`Slurm job ${first} of run_0000 ended in TIMEOUT; submitting it once more`));
    expect(res.stderr).toMatch(/moved the run dir of the stopped attempt of run_0000 to \.nas-graph\/aborted\/run_0000-\d+/);
    const rec = jobRecord(dir, "run_0000");
    expect(rec).toMatchObject({ attempt: 2, state: "COMPLETED", exit_code: 0 });
    expect(rec.job_id).not.toBe(first);
    expect(scontrol(first)?.JobState).toBe("TIMEOUT");
    expect(readAgentState(dir).runs).toMatchObject([{ run_id: "run_0000", status: "ok" }]);
  }, 300_000);

  it("SIGKILL of the CLI while its job runs: resume re-adopts the job, no duplicate, no lost run", async () => {
    const { dir, env } = standIn({ epoch_s: 3 }, fourEpochs); // the job runs 12 s
    const cli = startCli(["run", "--system-dir", dir, "--executor", "slurm", ...POLL, "--planner", "optuna", "--max-iterations", "1"], { env });
    await cli.waitFor(/submitted run_0000 as Slurm job \d+/);
    const { job_id: id, job_name: name } = jobRecord(dir, "run_0000");
    process.kill(-cli.child.pid!, "SIGKILL");
    expect((await cli.done).signal).toBe("SIGKILL");
    expect(["PENDING", "CONFIGURING", "RUNNING"]).toContain(scontrol(id)?.JobState); // the job lives on

    const res = await runCli(["resume", "--system-dir", dir, "--json"], { env });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(new RegExp(`Slurm job ${id} of an earlier attempt of run_0000 is still queued or running; waiting for it`));
    expect(res.stderr).not.toMatch(/submitted run_0000/);
    expect(jobsNamed(name)).toEqual([id]); // one job for this trial, ever
    expect(jobRecord(dir, "run_0000")).toMatchObject({ job_id: id, state: "COMPLETED", exit_code: 0 });
    expect(readAgentState(dir).runs).toMatchObject([{ run_id: "run_0000", status: "ok", accepted: true }]);
    expect(fs.existsSync(path.join(dir, ".nas-graph", "aborted"))).toBe(false);
    expect(jobName({ searchId: searchId(dir), runId: "run_0000" })).toBe(name);
  });

  it("--parallel 2: SIGKILL of the CLI with 2 jobs in flight, then resume: each trial one job, no lost run", async () => {
    const { dir, env } = standIn({ epoch_s: 3 }, fourEpochs);
    const args = ["run", "--system-dir", dir, "--executor", "slurm", ...POLL, "--planner", "optuna", "--parallel", "2", "--baseline-seeds", "2", "--max-iterations", "2"];
    const cli = startCli(args, { env });
    await cli.waitFor(/submitted run_0000 as Slurm job \d+/);
    await cli.waitFor(/submitted run_0001 as Slurm job \d+/);
    const ids = ["run_0000", "run_0001"].map((r) => jobRecord(dir, r));
    process.kill(-cli.child.pid!, "SIGKILL");
    expect((await cli.done).signal).toBe("SIGKILL");

    const res = await runCli(["resume", "--system-dir", dir, "--json"], { env });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).not.toMatch(/submitted run_000[01]/); // re-adopted, never submitted again
    for (const rec of ids) expect(jobsNamed(rec.job_name)).toEqual([rec.job_id]);
    const state = readAgentState(dir);
    expect(state.runs.map((r) => [r.run_id, r.kind, r.status])).toEqual([["run_0000", "baseline", "ok"], ["run_0001", "baseline", "ok"]]);
    expect(JSON.parse(res.stdout)).toMatchObject({ status: "finished", iterations: 2, n_runs: 2 });
  });
});
