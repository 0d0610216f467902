/**
 * Crash hook for the fault suite: NAS_TEST_KILL_AT=<node>[:n] makes the process SIGKILL itself (and
 * its trainings, its process group) the n-th time (default 1) it reaches `node`. Harmless when unset.
 */
const seen = new Map<string, number>();

export function killPoint(node: string): void {
  const spec = process.env.NAS_TEST_KILL_AT;
  if (!spec) return;
  const [at, n = "1"] = spec.split(":");
  if (at !== node) return;
  const count = (seen.get(node) ?? 0) + 1;
  seen.set(node, count);
  if (count === Number(n)) process.kill(process.pid, "SIGKILL");
}
