/**
 * The long-lived nas_agent helper: one per CLI process, answers in order, started again when
 * it dies (the request in flight is sent once more), a one-line error when it cannot run.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AgentServer, HELPER_COMMANDS } from "../src/agent-server.js";
import { UserError } from "../src/errors.js";
import { IMPLICIT_FAMILY } from "../src/planners/families.js";
import { agent } from "../src/python.js";
import { pythonBin, pythonEnv } from "../src/python.js";
import { workspacePaths } from "../src/workspace.js";
import { cliEnv, makeWorkspace, removeWorkspace, runCli, writeMockScript, LR_DECISION } from "./helpers/workspace.js";
import { RUN_DEFAULTS } from "../src/run-defaults.js";

const dirs: string[] = [];
const servers: AgentServer[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
  for (const d of dirs.splice(0)) removeWorkspace(d);
});

function server(python = pythonBin(process.env)): AgentServer {
  const s = new AgentServer(python, pythonEnv(process.env));
  servers.push(s);
  return s;
}

describe("nas_agent helper", () => {
  it("answers concurrent requests, each its own, from one process", async () => {
    const dir = makeWorkspace();
    dirs.push(dir);
    const s = server();
    const [next, got, bad, space] = await Promise.all([
      s.request(["--system-dir", dir, "next-run-id"], "next-run-id"),
      s.request(["--system-dir", dir, "config-get"], "config-get"),
      s.request(["--system-dir", dir, "set-accept", "--run-id", "run_0042", "--accept"], "set-accept"),
      s.request(["--system-dir", dir, "space"], "space"),
    ]);
    expect(next).toEqual({ exit: 0, result: { ok: true, run_id: "run_0000", run_ids: ["run_0000"] } });
    expect(got.result).toMatchObject({ ok: true, values: { "training.optimizer_params.lr": 5e-5 } });
    expect(bad.exit).toBe(2);
    expect(String(bad.result.error)).toMatch(/unknown run id run_0042/);
    expect(space.result).toMatchObject({ ok: true, path: path.join(dir, "search_space.json") });
    expect(s.starts).toBe(1);
  });

  it("is started again when it dies, and the request in flight is sent once more", async () => {
    const dir = makeWorkspace();
    dirs.push(dir);
    const s = server();
    await s.request(["--system-dir", dir, "space"], "space");
    const pid = s.pid!;
    // stopped first, so the request is surely in flight (unanswered) when the helper dies: a warm
    // helper could answer config-get before a SIGKILL sent right after the request lands
    process.kill(pid, "SIGSTOP");
    const pending = s.request(["--system-dir", dir, "config-get"], "config-get");
    process.kill(pid, "SIGKILL");
    const res = await pending;
    expect(res.exit).toBe(0);
    expect(res.result.values).toBeTruthy();
    expect(s.starts).toBe(2);
    expect(s.pid).not.toBe(pid);
  });

  it("fails the request with one line when the helper keeps dying", async () => {
    const s = server("/bin/false"); // starts, then exits 1 at once: twice
    const err = await s.request(["next-run-id"], "next-run-id").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe(
      "the nas_agent helper (/bin/false) died during 'next-run-id' (exit code 1); check NAS_PYTHON and the nas_system install, then 'nas-graph resume'",
    );
    expect(s.starts).toBe(2);
  });

  it("names the interpreter that cannot be started", async () => {
    const dir = makeWorkspace();
    dirs.push(dir);
    const err = await agent({ ws: workspacePaths(dir), env: { ...process.env, NAS_PYTHON: "/nonexistent/python3" } }, ["next-run-id"]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/^cannot start \/nonexistent\/python3 \(.*ENOENT.*\); set NAS_PYTHON to a Python with the nas_system requirements$/);
  });

  it("one helper serves a whole CLI search, with one request per round to record and one to finish it", async () => {
    const dir = makeWorkspace((c) => c.replace('"max_epochs": 2,', '"max_epochs": 1,'));
    dirs.push(dir);
    const mock = writeMockScript(dir, [LR_DECISION]);
    const res = await runCli(["run", "--system-dir", dir, "--planner", "mock", "--mock-file", mock, "--max-iterations", "2", "--json"], {
      env: cliEnv({ NAS_LOG_LEVEL: "debug" }),
    });
    expect(res.code, res.stderr).toBe(0);
    const logs = res.stderr.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as { msg?: string; cmd?: string });
    expect(logs.filter((l) => l.msg === "nas_agent helper started")).toHaveLength(1);
    // 2 trainings = 2 rounds (the baseline's 2 seeds, copied as is: no config request): the start
    // (its pre-flight checks and begin-search) in one request, then per round one record-runs and one
    // finish-round (record, config.py, study, next ids); the last round's also closes the search (standing, ensemble)
    const calls: Record<string, number> = {};
    for (const l of logs) if (l.msg === "nas_agent call") calls[l.cmd!] = (calls[l.cmd!] ?? 0) + 1;
    expect(calls).toEqual({ "begin-search": 1, "record-runs": 2, "finish-round": 2 });
    expect(JSON.parse(res.stdout.trim().split("\n").pop()!)).toMatchObject({ status: "finished", ensemble: { fidelity: expect.any(String) } });
  });
});

describe("what both sides list", () => {
  it("is the same in TypeScript (HELPER_COMMANDS, each one resent after a helper death) and in nas_agent's COMMANDS", () => {
    const py = execFileSync(pythonBin(process.env), ["-c", "import json; from nas_agent.cli import COMMANDS; print(json.dumps(sorted(COMMANDS)))"], {
      env: pythonEnv(process.env),
      encoding: "utf8",
    });
    expect([...HELPER_COMMANDS].sort()).toEqual(JSON.parse(py));
  });

  it("the default model family is nas_agent's DEFAULT_FAMILY", () => {
    const py = execFileSync(pythonBin(process.env), ["-c", "from nas_agent.config_check import DEFAULT_FAMILY; print(DEFAULT_FAMILY)"], {
      env: pythonEnv(process.env),
      encoding: "utf8",
    });
    expect(IMPLICIT_FAMILY).toBe(py.trim());
  });

  it("the helper's own --max-rise default is run's (a one-shot call without the flag judges the same curve)", () => {
    const py = execFileSync(pythonBin(process.env), ["-c", "from nas_agent.curve import MAX_RISE_PCT; print(MAX_RISE_PCT)"], {
      env: pythonEnv(process.env),
      encoding: "utf8",
    });
    expect(Number(py.trim())).toBe(RUN_DEFAULTS.maxRise);
  });
});
