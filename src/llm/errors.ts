/**
 * What can go wrong when asking an LLM, sorted into what the caller can do about it:
 * - UserError (from configError): a setting is wrong (bad key, unknown model); stop now.
 * - LlmAnswerError: the model kept answering in a malformed way after the re-asks.
 * - LlmUnavailableError: the API is down (5xx, timeouts, refused connections, rate limits
 *   that outlasted our backoff) after all retries.
 * Both LLM failures carry the usage already spent, so the caller can still account for it.
 */
import type { LlmAttempt, LlmUsage } from "../contracts.js";
import { UserError, oneLine } from "../errors.js";
import { modelVariable, suggestedModel, type LlmSettings } from "./settings.js";

/** One request/answer exchange of the structured-output loop (kept for the run record). */
export type AttemptRecord = LlmAttempt;

export class LlmFailure extends Error {
  constructor(
    message: string,
    readonly usage: LlmUsage,
    readonly attempts: AttemptRecord[],
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The model's answers stayed invalid after every re-ask; `lastError` quotes the last problem. */
export class LlmAnswerError extends LlmFailure {
  constructor(
    readonly lastError: string,
    usage: LlmUsage,
    attempts: AttemptRecord[],
  ) {
    super(`the LLM gave no valid answer in ${attempts.length} attempts; last error: ${lastError}`, usage, attempts);
  }
}

/** The API could not be reached or kept failing after the client's retries and our backoff. */
export class LlmUnavailableError extends LlmFailure {}

export function httpStatus(err: unknown): number | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const e = err as { status?: unknown; response?: { status?: unknown } };
  if (typeof e.status === "number") return e.status;
  if (typeof e.response?.status === "number") return e.response.status;
  return undefined;
}

/** Retry-After of an HTTP error in ms (seconds or an HTTP date); undefined when absent. */
export function retryAfterMs(err: unknown): number | undefined {
  const headers = (err as { headers?: unknown } | null)?.headers;
  let value: string | null | undefined;
  if (headers && typeof (headers as Headers).get === "function") value = (headers as Headers).get("retry-after");
  else if (headers && typeof headers === "object") value = (headers as Record<string, string>)["retry-after"];
  if (value == null || value.trim() === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

export function isAbort(err: unknown, signal?: AbortSignal): boolean {
  if (signal?.aborted) return true;
  return err instanceof Error && (err.name === "AbortError" || err.message.startsWith("AbortError"));
}

const MODEL_NOT_FOUND = /not a valid model|model[^.;]*(not found|does not exist|not exist|unknown|not available)|(unknown|no such|invalid) model/i;

/**
 * HTTP answers that no retry or fallback can fix: the user must change a setting.
 * Returns null for everything else.
 * - 401/403: the key; 402: the credit;
 * - 404, or a 400 that says the model is unknown: the model id (retired, misspelled);
 * - any other 400/422: the server rejects the request's shape for this model (strict mode,
 *   tool_choice, schema keywords); retrying or falling back would fail the same way every
 *   iteration, so stop with the provider's own message.
 */
export function configError(err: unknown, settings: LlmSettings): UserError | null {
  const status = httpStatus(err);
  const where = `${status} from ${settings.baseURL}`;
  const variable = modelVariable(settings.role);
  const fix = `set ${variable} in .env to a current model with tool calling, e.g. ${variable}=${suggestedModel(settings.model)}`;
  if (status === 401 || status === 403) {
    return new UserError(`OPENROUTER_API_KEY is invalid (${where}); set a valid key in .env`);
  }
  if (status === 402) {
    return new UserError(`the LLM account has no credit left (${where}); add credit, or use --planner optuna (resume takes it too)`);
  }
  const said = providerMessage(err);
  if (status === 404 || (status === 400 && MODEL_NOT_FOUND.test(said))) {
    return new UserError(`model "${settings.model}" was not found (${where}: ${said}); ${fix}`);
  }
  if (status === 400 || status === 422) {
    return new UserError(`the LLM server rejected the request for model "${settings.model}" (${where}: ${said}); ${fix}`);
  }
  return null;
}

/** The server's own error text, one line, without the status the SDK puts in front. */
function providerMessage(err: unknown): string {
  const status = httpStatus(err);
  const msg = oneLine(err);
  return status !== undefined && msg.startsWith(`${status} `) ? msg.slice(String(status).length + 1) : msg;
}

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ENOTFOUND: "DNS lookup failed: host not found",
  EAI_AGAIN: "DNS lookup failed (temporary)",
  ECONNRESET: "connection reset",
  ETIMEDOUT: "connection timed out",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
};

/**
 * The network cause of a failed request in a few words ("connection refused (ECONNREFUSED)"),
 * found along the error's cause chain (the SDK's "Connection error." wraps fetch's TypeError,
 * which wraps the socket error); null when there is none.
 */
export function networkCause(err: unknown): string | null {
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  while (queue.length > 0) {
    const e = queue.shift();
    if (typeof e !== "object" || e === null || seen.has(e)) continue;
    seen.add(e);
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && code in NETWORK_CODES) return `${NETWORK_CODES[code]} (${code})`;
    queue.push((e as { cause?: unknown }).cause, ...((e as { errors?: unknown[] }).errors ?? []));
  }
  return null;
}

/** One line describing an API failure, without the library's troubleshooting-URL tail. */
export function describeApiError(err: unknown, settings: LlmSettings): string {
  if (err instanceof Error && err.name === "TimeoutError") {
    return `no answer within ${settings.timeoutMs} ms (raise NAS_LLM_TIMEOUT_MS if the model is slow)`;
  }
  const network = networkCause(err);
  if (network) return network;
  const status = httpStatus(err);
  let msg = oneLine(err);
  // the SDK's bare "Connection error.": name the innermost cause (e.g. fetch's "bad port")
  let inner: unknown = (err as { cause?: unknown } | null)?.cause;
  while ((inner as { cause?: unknown } | null)?.cause) inner = (inner as { cause?: unknown }).cause;
  if (status === undefined && inner instanceof Error && inner.message) msg = `${msg.replace(/\.$/, "")}: ${oneLine(inner)}`;
  return status !== undefined && !msg.startsWith(String(status)) ? `${status} ${msg}` : msg;
}

/**
 * --max-llm-failures consecutive planner rounds had no LLM answer: the search stops before
 * this round trains anything, resumable like the cost cap's stop.
 */
export class LlmFailuresStop extends Error {
  constructor(
    readonly failures: number,
    readonly cause_: string,
  ) {
    super(
      `stopped after ${failures} LLM planner round${failures === 1 ? "" : "s"} in a row without an answer (last: ${cause_}); check NAS_LLM_BASE_URL / OPENROUTER_API_KEY, then nas-graph resume (or go on without the LLM planner: nas-graph resume --planner optuna)`,
    );
    this.name = "LlmFailuresStop";
  }
}
