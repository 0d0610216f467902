/**
 * Crash hook for the fault suite: NAS_TEST_KILL_AT=<point>[:n] makes the process SIGKILL itself the
 * n-th time (default 1) it reaches `point`: planner (run ids reserved, not yet checkpointed), trial
 * (its config written, training not started), training (a training just started), evaluator (before a
 * trial's run is recorded), review (an answer of `resume` received, its verdict not yet checkpointed),
 * update-state (at its start). Its local trainings die with it (their
 * NAS_PARENT_PID lifeline); Slurm jobs go on. Harmless when unset. The Python side has
 * NAS_TEST_KILL_HELPER_AT (nas_agent/cli.py) and NAS_TEST_FULL_DISK_AFTER (nas_agent/agent_state.py).
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
