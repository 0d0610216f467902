/**
 * The local executor with K = 2 trainings in flight (real train.py children): each child sees
 * one GPU of the list, round-robin by slot, and with no OMP_NUM_THREADS of the user's the
 * cores are split between them. The CLI-level K = 2 comes with the graph's fan-out.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { LocalExecutor } from "../src/executors/local.js";
import type { TrialJob } from "../src/executors/types.js";
import { workspacePaths } from "../src/workspace.js";
import { cliEnv, makeWorkspace, removeWorkspace, runCli } from "./helpers/workspace.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeWorkspace(d);
});

const job = (runId: string, configPath: string, slot: number): TrialJob => ({
  runId, searchId: "k2", configPath, seed: null, maxEpochs: 1, timeoutS: null, slot,
});

/** The environment of a live process. */
function environ(pid: number): Record<string, string> {
  const text = fs.readFileSync(`/proc/${pid}/environ`, "utf8");
  return Object.fromEntries(text.split("\0").filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
}

describe("local executor, K = 2", () => {
  it.runIf(process.platform === "linux")("trains two trials at once, one GPU of the list each, cores split", async () => {
    const dir = makeWorkspace();
    dirs.push(dir);
    fs.writeFileSync(path.join(dir, "b.py"), fs.readFileSync(path.join(dir, "config.py"), "utf8").replace('"lr": 5e-05', '"lr": 0.001'));
    const env = cliEnv({ OMP_NUM_THREADS: undefined });
    const ex = new LocalExecutor({ ws: workspacePaths(dir), env }, { gpus: ["3", "5"], parallel: 2 });
    const seen: Record<string, Record<string, string>> = {};
    const run = (j: TrialJob) =>
      ex.run(j, {
        signal: new AbortController().signal,
        onLine: () => {
          if (seen[j.runId]) return;
          const rec = JSON.parse(fs.readFileSync(path.join(dir, ".nas-graph", "jobs", `${j.runId}.json`), "utf8"));
          seen[j.runId] = environ(rec.pid); // the child is alive while it prints
        },
      });
    const [a, b] = await Promise.all([run(job("run_0000", "config.py", 0)), run(job("run_0001", "b.py", 1))]);
    expect(a, a.tail.join("\n")).toMatchObject({ exitCode: 0, timedOut: false, canceled: false });
    expect(b, b.tail.join("\n")).toMatchObject({ exitCode: 0 });
    const threads = String(Math.max(1, Math.floor(os.availableParallelism() / 2)));
    expect(seen.run_0000).toMatchObject({ CUDA_VISIBLE_DEVICES: "3", OMP_NUM_THREADS: threads, NAS_PARENT_PID: String(process.pid) });
    expect(seen.run_0001).toMatchObject({ CUDA_VISIBLE_DEVICES: "5", OMP_NUM_THREADS: threads });
    const recs = ["run_0000", "run_0001"].map((id) => JSON.parse(fs.readFileSync(path.join(dir, ".nas-graph", "jobs", `${id}.json`), "utf8")));
    expect(recs[0].started_at < recs[1].ended_at && recs[1].started_at < recs[0].ended_at).toBe(true); // at once
    for (const id of ["run_0000", "run_0001"]) expect(fs.existsSync(path.join(dir, "runs", id, "metrics.json"))).toBe(true);
    expect(fs.readFileSync(path.join(dir, "runs", "run_0001", "config_used.py"), "utf8")).toContain('"lr": 0.001');
  });

  it("wraps round the GPU list, keeps the user's thread count, and leaves K = 1 as it was", () => {
    const ws = workspacePaths(os.tmpdir());
    const ex = new LocalExecutor({ ws, env: { OMP_NUM_THREADS: "3", CUDA_VISIBLE_DEVICES: "0,1" } }, { gpus: null, parallel: 3 });
    expect(ex.childEnv(job("run_0002", "config.py", 2))).toMatchObject({ CUDA_VISIBLE_DEVICES: "0", OMP_NUM_THREADS: "3" });
    expect(ex.childEnv(job("run_0003", "config.py", 1)).CUDA_VISIBLE_DEVICES).toBe("1");
    // one training at a time without --gpus: the child sees what the user set, no thread override
    const one = new LocalExecutor({ ws, env: { CUDA_VISIBLE_DEVICES: "0,1" } }, { gpus: null, parallel: 1 }).childEnv(job("run_0004", "config.py", 0));
    expect(one.CUDA_VISIBLE_DEVICES).toBe("0,1");
    expect(one.OMP_NUM_THREADS).toBeUndefined();
  });

  it("checks --gpus and --executor", async () => {
    const dir = makeWorkspace();
    dirs.push(dir);
    const bad = await runCli(["run", "--system-dir", dir, "--gpus", "0,,1", "--planner", "optuna"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split("\n").pop()).toBe("error: --gpus '0,,1' is not a comma-separated list of GPU ids (e.g. 0,1); fix --gpus");
    const slurm = await runCli(["run", "--system-dir", dir, "--gpus", "0", "--executor", "slurm", "--planner", "optuna"]);
    expect(slurm.stderr.trim().split("\n").pop()).toBe("error: --gpus is for --executor local; on Slurm ask for GPUs with --slurm-gres gpu:1");
    const unknown = await runCli(["run", "--system-dir", dir, "--executor", "k8s", "--planner", "optuna"]);
    expect(unknown.stderr.trim().split("\n").pop()).toBe("error: unknown --executor 'k8s'; use one of local, slurm");
  });
});
