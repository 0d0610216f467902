/**
 * The one-node test cluster of scripts/slurm-up.sh: found through SLURM_CONF or
 * $NAS_SLURM_DIR/slurm.conf (default /tmp/nas-graph-slurm); tests that need it are skipped,
 * with this message, only when it is not up (CI always brings it up).
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

function findConf(): string | null {
  const candidates = [process.env.SLURM_CONF, path.join(process.env.NAS_SLURM_DIR ?? "/tmp/nas-graph-slurm", "slurm.conf")];
  return candidates.find((c): c is string => Boolean(c) && fs.existsSync(c!)) ?? null;
}

function probe(): { conf: string | null; why: string | null } {
  const conf = findConf();
  if (!conf) return { conf: null, why: "no slurm.conf (run scripts/slurm-up.sh)" };
  try {
    const out = execFileSync("sinfo", ["-h", "-o", "%t"], { env: { ...process.env, SLURM_CONF: conf }, encoding: "utf8", timeout: 15_000 });
    if (!/^(idle|mix|alloc)/m.test(out)) return { conf: null, why: `the node is not usable (sinfo: ${out.trim() || "nothing"})` };
    return { conf, why: null };
  } catch (err) {
    return { conf: null, why: `sinfo failed (${(err as Error).message.split("\n")[0]})` };
  }
}

export const SLURM = probe();
if (!SLURM.conf) console.warn(`Slurm tests skipped: Slurm is not up: ${SLURM.why}; start it with 'bash scripts/slurm-up.sh'`);

export function slurmEnv(): Record<string, string> {
  return { SLURM_CONF: SLURM.conf ?? "" };
}

export function scontrol(jobId: string): Record<string, string> | null {
  try {
    const out = execFileSync("scontrol", ["show", "job", "-o", jobId], { env: { ...process.env, ...slurmEnv() }, encoding: "utf8" });
    return Object.fromEntries(out.trim().split(/\s+/).map((w) => [w.slice(0, w.indexOf("=")), w.slice(w.indexOf("=") + 1)]));
  } catch {
    return null;
  }
}

/** Queued or running jobs with this name. */
export function squeueByName(name: string): string[] {
  const out = execFileSync("squeue", ["-h", "-n", name, "-o", "%i"], { env: { ...process.env, ...slurmEnv() }, encoding: "utf8" });
  return out.split("\n").map((l) => l.trim()).filter(Boolean);
}

/** Every job id scontrol still knows with this name (finished ones for MinJobAge, 300 s). */
export function jobsNamed(name: string): string[] {
  const out = execFileSync("scontrol", ["show", "job", "-o"], { env: { ...process.env, ...slurmEnv() }, encoding: "utf8" });
  return out
    .split("\n")
    .filter((l) => l.includes(` JobName=${name} `))
    .map((l) => /JobId=(\d+)/.exec(l)![1]);
}
