/**
 * One long-lived `python -m nas_agent serve` per CLI process (and per interpreter and
 * environment): JSON-line requests `{"id", "argv"}` on its stdin, answers `{"id", "exit",
 * "result"}` on its stdout, in order. Started lazily on the first request, started again if
 * it dies (a request in flight then is sent once more: every nas_agent command is
 * idempotent, docs/contracts.md), ended when this process exits (its stdin closes).
 * Saves an interpreter start (50-100 ms, optuna's import once per search) per helper call.
 */
import { spawn, type ChildProcess } from "node:child_process";
import readline from "node:readline";
import { UserError, oneLine } from "./errors.js";
import { logger } from "./log.js";

export interface AgentAnswer {
  exit: number;
  result: Record<string, unknown>;
}

/**
 * The helper's commands, listed once: the keys of COMMANDS in nas_system/nas_agent/cli.py
 * (test/agent-server.test.ts checks that both lists agree).
 */
export const HELPER_COMMANDS = [
  "space", "config-get", "config-apply", "config-id", "next-run-id", "preflight", "begin-search",
  "record-run", "record-runs", "finish-round", "promising", "standing", "set-accept", "suggest", "study", "report", "baselines",
  "ensemble", "rebuild-state",
] as const;
export type HelperCommand = (typeof HELPER_COMMANDS)[number];

/**
 * Commands whose request may be sent again when the helper died under it: every one, as each is
 * idempotent (docs/contracts.md: an upsert, an atomic write, or a read); a command this list does
 * not know is sent once.
 */
const IDEMPOTENT: ReadonlySet<string> = new Set<string>(HELPER_COMMANDS);

interface Pending {
  id: number;
  argv: string[];
  command: string;
  tries: number;
  resolve: (a: AgentAnswer) => void;
  reject: (e: Error) => void;
}

export class AgentServer {
  private child: ChildProcess | null = null;
  private readonly pending: Pending[] = [];
  private nextId = 1;
  private stderrTail: string[] = [];
  private closed = false;
  /** Starts so far (1 = never restarted); for tests and debug logs. */
  starts = 0;

  constructor(
    readonly python: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /** Send one request (argv as for `python -m nas_agent`); resolves with its answer. */
  request(argv: string[], command: string): Promise<AgentAnswer> {
    if (this.closed) return Promise.reject(new Error("the nas_agent helper is closed"));
    return new Promise((resolve, reject) => {
      const p: Pending = { id: this.nextId++, argv, command, tries: 0, resolve, reject };
      this.pending.push(p);
      this.send(p);
    });
  }

  /** Start the interpreter now (its start overlaps with the CLI's own imports); holds nothing open. */
  warm(): void {
    if (this.closed || this.child) return;
    this.start();
    this.setRef(false);
  }

  /** The helper's pid (null when not running). */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  close(): void {
    this.closed = true;
    const child = this.child;
    this.child = null;
    if (child) {
      child.stdin?.end();
      child.kill("SIGTERM");
    }
  }

  private send(p: Pending): void {
    const child = this.child ?? this.start();
    p.tries += 1;
    this.setRef(true);
    child.stdin!.write(JSON.stringify({ id: p.id, argv: p.argv }) + "\n");
  }

  private start(): ChildProcess {
    this.starts += 1;
    this.stderrTail = [];
    const child = spawn(this.python, ["-m", "nas_agent", "serve"], { env: this.env, stdio: ["pipe", "pipe", "pipe"] });
    this.child = child;
    logger.debug({ python: this.python, pid: child.pid, starts: this.starts }, "nas_agent helper started");
    child.stdin!.on("error", () => {}); // EPIPE when it died: handled by 'exit'
    readline.createInterface({ input: child.stdout! }).on("line", (line) => this.onAnswer(line));
    readline.createInterface({ input: child.stderr! }).on("line", (line) => {
      this.stderrTail.push(line);
      if (this.stderrTail.length > 20) this.stderrTail.shift();
      logger.debug({ line }, "nas_agent helper stderr");
    });
    let gone = false;
    const onGone = (err: Error | null, code: number | null, signal: NodeJS.Signals | null) => {
      if (gone) return;
      gone = true;
      if (this.child === child) this.child = null;
      this.onDeath(err, code, signal);
    };
    child.on("error", (err) => onGone(err, null, null));
    child.on("close", (code, signal) => onGone(null, code, signal)); // after exit and the last output lines
    return child;
  }

  private onAnswer(line: string): void {
    let msg: { id?: unknown; exit?: unknown; result?: unknown };
    try {
      msg = JSON.parse(line);
    } catch {
      logger.warn({ line }, "nas_agent helper printed a non-JSON line");
      return;
    }
    const p = this.pending[0];
    if (!p || msg.id !== p.id) {
      logger.warn({ got: msg.id, want: p?.id }, "nas_agent helper answered out of order");
      return;
    }
    this.pending.shift();
    if (this.pending.length === 0) this.setRef(false);
    const result = msg.result && typeof msg.result === "object" ? (msg.result as Record<string, unknown>) : {};
    p.resolve({ exit: typeof msg.exit === "number" ? msg.exit : 1, result });
  }

  private onDeath(err: Error | null, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.closed) return;
    const waiting = this.pending.splice(0);
    if (waiting.length === 0) {
      this.setRef(false);
      return;
    }
    if (err && (err as NodeJS.ErrnoException).code === "ENOENT") {
      const e = new UserError(`cannot start ${this.python} (${oneLine(err)}); set NAS_PYTHON to a Python with the nas_system requirements`);
      for (const p of waiting) p.reject(e);
      return;
    }
    const why = err ? oneLine(err) : signal ? `killed by ${signal}` : `exit code ${code}`;
    const last = this.stderrTail.filter((l) => l.trim()).pop();
    logger.warn({ why, last, waiting: waiting.map((p) => p.command) }, "nas_agent helper died");
    for (const p of waiting) {
      if (IDEMPOTENT.has(p.command) && p.tries < 2) {
        this.pending.push(p);
        this.send(p);
      } else {
        p.reject(
          new UserError(
            `the nas_agent helper (${this.python}) died during '${p.command}' (${why}${last ? `: ${last.trim()}` : ""}); check NAS_PYTHON and the nas_system install, then 'nas-graph resume'`,
            1,
          ),
        );
      }
    }
    if (this.pending.length === 0) this.setRef(false);
  }

  /** Keep this process alive only while an answer is awaited. */
  private setRef(on: boolean): void {
    const c = this.child;
    if (!c) return;
    for (const s of [c, c.stdin, c.stdout, c.stderr] as Array<{ ref?: () => void; unref?: () => void } | null>) {
      if (on) s?.ref?.();
      else s?.unref?.();
    }
  }
}

const servers = new Map<string, AgentServer>();
let exitHook = false;

/** The helper for this interpreter and environment, created on first use; all are ended at exit. */
export function agentServer(python: string, env: NodeJS.ProcessEnv): AgentServer {
  const key = JSON.stringify([python, Object.entries(env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]);
  let s = servers.get(key);
  if (!s) {
    s = new AgentServer(python, env);
    servers.set(key, s);
  }
  if (!exitHook) {
    exitHook = true;
    process.on("exit", closeAgentServers);
  }
  return s;
}

export function closeAgentServers(): void {
  for (const s of servers.values()) s.close();
  servers.clear();
}
