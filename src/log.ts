/**
 * Structured logs (pino) and anything a library prints with console.* stay out of the human
 * output (src/ui.ts writes that to stderr itself):
 * - with NAS_LOG_LEVEL set (debug/info/...), logs go to stderr as JSON lines at that level;
 * - otherwise they are kept at warn level; during a search (logToWorkspace) they go to the
 *   workspace's `.nas-graph/log.jsonl`, outside a search to stderr.
 * Secrets are redacted wherever they appear in a logged object.
 */
import fs from "node:fs";
import path from "node:path";
import { format } from "node:util";
import { pino } from "pino";

export const REDACT_PATHS = [
  "apiKey",
  "api_key",
  "*.apiKey",
  "*.api_key",
  "headers.authorization",
  "*.headers.authorization",
  "env.OPENROUTER_API_KEY",
  "OPENROUTER_API_KEY",
  "*.OPENROUTER_API_KEY",
];

const toStderr = (line: string) => void process.stderr.write(line);
/** Where each JSON log line goes now (stderr, or the workspace log file during a search). */
let sink: (line: string) => void = toStderr;

export const logger = pino(
  {
    level: process.env.NAS_LOG_LEVEL ?? "warn",
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    base: undefined,
  },
  { write: (line: string) => sink(line) },
);

export type Logger = typeof logger;

const CONSOLE_METHODS = ["log", "info", "warn", "error", "debug"] as const;
const LEVEL_OF: Record<(typeof CONSOLE_METHODS)[number], string> = { log: "info", info: "info", warn: "warn", error: "error", debug: "debug" };

/**
 * For the length of a search: the logger and every console.* call (LangChain's upgrade banner
 * is an unconditional console.warn) go to `logFile` as one JSON line each, or to stderr as
 * JSON when NAS_LOG_LEVEL is set. Returns the function that restores both.
 */
export function logToWorkspace(logFile: string, env: NodeJS.ProcessEnv = process.env): () => void {
  const before = sink;
  if (!env.NAS_LOG_LEVEL) {
    fs.mkdirSync(path.dirname(logFile), { recursive: true });
    sink = (line) => {
      try {
        fs.appendFileSync(logFile, line.endsWith("\n") ? line : line + "\n");
      } catch {
        // a log line is never worth failing a search for
      }
    };
  }
  const saved = CONSOLE_METHODS.map((m) => [m, console[m]] as const);
  for (const m of CONSOLE_METHODS) {
    console[m] = (...args: unknown[]) => {
      sink(JSON.stringify({ level: LEVEL_OF[m], time: Date.now(), source: `console.${m}`, msg: format(...args) }) + "\n");
    };
  }
  return () => {
    for (const [m, fn] of saved) console[m] = fn;
    sink = before;
  };
}
