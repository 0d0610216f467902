/**
 * Ask a chat model for one structured answer (a tool call validated by a zod schema),
 * re-asking with the error quoted when the answer is malformed or fails extra validation.
 *
 * Route: withStructuredOutput(method "functionCalling", strict, includeRaw), which keeps
 * the raw text and token usage of every attempt, including the failed ones. The tool is given
 * as an OpenAI function definition whose parameters we build (strict-schema.ts), so the exact
 * schema sent stays inside the strict subset; answers are validated with the zod schema here.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { z } from "zod";
import type { LlmUsage } from "../contracts.js";
import { logger } from "../log.js";
import { createChatModel } from "./client.js";
import {
  type AttemptRecord,
  LlmAnswerError,
  LlmUnavailableError,
  configError,
  describeApiError,
  httpStatus,
  isAbort,
  retryAfterMs,
} from "./errors.js";
import type { CostBudget } from "./budget.js";
import type { LlmSettings } from "./settings.js";
import { strictJsonSchema } from "./strict-schema.js";
import { addUsage, emptyUsage, usageOfMessage } from "./usage.js";

/** We never sleep longer than this for one 429, even when Retry-After asks for more. */
export const MAX_RATE_LIMIT_WAIT_MS = 300_000;

export interface AskOptions<T> {
  settings: LlmSettings;
  schema: z.ZodType<T>;
  /** The tool the model must call, e.g. "planner_decision". */
  toolName: string;
  prompt: string;
  /** Checks beyond the schema; returns the problems ([] when the answer is fine). */
  validate?: (value: T) => Promise<string[]>;
  /** Re-asks after the first attempt (default 2, i.e. 3 attempts). */
  maxReasks?: number;
  /** The search's cost cap: checked before every call (CostCapReached), told of every answered call. */
  budget?: CostBudget | null;
  signal?: AbortSignal;
}

export interface StructuredAnswer<T> {
  value: T;
  usage: LlmUsage;
  attempts: AttemptRecord[];
}

type Message = { role: "user" | "assistant"; content: string };

interface RawMessage {
  content?: unknown;
  tool_calls?: Array<{ name: string; args: unknown }>;
  invalid_tool_calls?: Array<{ name?: string; args?: string; error?: string }>;
  usage_metadata?: { input_tokens?: number; output_tokens?: number };
  response_metadata?: Record<string, unknown>;
}

/**
 * Returns the first valid answer. Throws UserError (bad key/model, at once),
 * LlmAnswerError (still invalid after the re-asks), LlmUnavailableError (API down),
 * or the abort error when `signal` fires.
 */
export async function askStructured<T>(opts: AskOptions<T>): Promise<StructuredAnswer<T>> {
  const maxReasks = opts.maxReasks ?? 2;
  const model = await createChatModel(opts.settings);
  const tool = { name: opts.toolName, parameters: strictJsonSchema(opts.schema) };
  const runnable = model.withStructuredOutput(tool, {
    method: "functionCalling",
    strict: true,
    includeRaw: true,
    name: opts.toolName,
  });
  const attempts: AttemptRecord[] = [];
  let usage = emptyUsage();
  let messages: Message[] = [{ role: "user", content: opts.prompt }];
  let lastError = "";

  for (let round = 0; round <= maxReasks; round++) {
    opts.budget?.beforeCall();
    const out = await invokeWithBackoff(() => runnable.invoke(messages, { signal: opts.signal }), opts, () => ({
      usage,
      attempts,
    }));
    const raw = out.raw as RawMessage;
    const callUsage = usageOfMessage(raw);
    opts.budget?.record(callUsage);
    usage = addUsage(usage, callUsage);
    const rawText = rawAnswerText(raw);
    const checked = await checkAnswer(out.parsed, raw, opts);
    attempts.push({ raw: rawText, error: checked.error, usage: callUsage });
    if (checked.error === null) return { value: checked.value as T, usage, attempts };

    lastError = checked.error;
    logger.info({ tool: opts.toolName, attempt: round + 1, error: lastError }, "LLM answer rejected");
    messages = [
      { role: "user", content: opts.prompt },
      { role: "assistant", content: rawText || "(no answer)" },
      { role: "user", content: reaskMessage(opts.toolName, lastError) },
    ];
  }
  throw new LlmAnswerError(lastError, usage, attempts);
}

/** The re-ask: quotes the error so the model can fix exactly that. */
export function reaskMessage(toolName: string, error: string): string {
  return (
    `Your previous answer was rejected: ${error}\n` +
    `Answer again by calling the tool "${toolName}" with a corrected answer that fixes this error.`
  );
}

async function checkAnswer<T>(
  parsed: unknown,
  raw: RawMessage,
  opts: AskOptions<T>,
): Promise<{ value: T | null; error: string | null }> {
  const candidate = parsed ?? firstToolArgs(raw, opts.toolName);
  if (candidate === undefined) return { value: null, error: diagnoseMissing(raw, opts.toolName) };
  const result = opts.schema.safeParse(candidate);
  if (!result.success) return { value: null, error: formatZodError(result.error) };
  const problems = opts.validate ? await opts.validate(result.data) : [];
  return problems.length > 0 ? { value: null, error: problems.join("; ") } : { value: result.data, error: null };
}

function firstToolArgs(raw: RawMessage, toolName: string): unknown {
  return raw.tool_calls?.find((c) => c.name === toolName)?.args ?? raw.tool_calls?.[0]?.args;
}

function diagnoseMissing(raw: RawMessage, toolName: string): string {
  const invalid = raw.invalid_tool_calls?.[0];
  if (invalid) return `the tool-call arguments are not valid JSON (${firstLine(invalid.error ?? "parse error")})`;
  return `the answer was plain text, not a call of the tool "${toolName}"`;
}

/** One line per zod issue, joined: `config_changes.0.value: Invalid input; step_type: ...`. */
export function formatZodError(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join(".") : "(answer)"}: ${issue.message}`)
    .join("; ");
}

function rawAnswerText(raw: RawMessage): string {
  const call = raw.tool_calls?.[0];
  if (call) return JSON.stringify(call.args);
  const invalid = raw.invalid_tool_calls?.[0];
  if (invalid?.args !== undefined) return invalid.args;
  return typeof raw.content === "string" ? raw.content : JSON.stringify(raw.content ?? "");
}

function firstLine(text: string): string {
  return text.split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("Troubleshooting")).slice(-1)[0] ?? text;
}

const NETWORK_ERROR_NAMES = new Set(["APIConnectionError", "APIConnectionTimeoutError", "TimeoutError", "FetchError"]);

/**
 * Runs one request. 5xx and timeouts were already retried by the client (maxRetries);
 * a 429 the client gave up on is waited out here (Retry-After, else exponential backoff).
 */
async function invokeWithBackoff<R>(
  call: () => Promise<R>,
  opts: { settings: LlmSettings; signal?: AbortSignal },
  spent: () => { usage: LlmUsage; attempts: AttemptRecord[] },
): Promise<R> {
  const { settings, signal } = opts;
  for (let retry = 0; ; retry++) {
    try {
      return await call();
    } catch (err) {
      if (isAbort(err, signal)) throw err;
      const userError = configError(err, settings);
      if (userError) throw userError;
      const status = httpStatus(err);
      if (status === 429 && retry < settings.rateLimitRetries) {
        const wait = retryAfterMs(err) ?? settings.backoffMs * 2 ** retry;
        if (wait <= MAX_RATE_LIMIT_WAIT_MS) {
          logger.warn({ status, retry: retry + 1, wait_ms: wait }, "LLM rate-limited; waiting before retrying");
          await sleep(wait, undefined, { signal });
          continue;
        }
      }
      if (status === undefined && !isNetworkError(err)) throw err; // a bug, not an outage
      const { usage, attempts } = spent();
      throw new LlmUnavailableError(
        `the LLM API at ${settings.baseURL} failed: ${describeApiError(err, settings)}`,
        usage,
        [...attempts],
      );
    }
  }
}

function isNetworkError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  return NETWORK_ERROR_NAMES.has(err.name) || NETWORK_ERROR_NAMES.has(err.constructor.name) || typeof code === "string";
}
