/**
 * LLM settings from the environment (.env is loaded by the CLI before this is read).
 * Any OpenAI-compatible server works; OpenRouter is the default.
 */
import { UserError } from "../errors.js";

export const DEFAULT_BASE_URL = "https://openrouter.ai/api/v1";
/**
 * The default planner and evaluator model (README: "LLM model"): a current Claude Sonnet on
 * OpenRouter that supports tool calling with a named tool_choice, the route askStructured uses.
 */
export const DEFAULT_MODEL = "anthropic/claude-sonnet-4.6";
/** Suggested when the default itself is not served (it is older but widely deployed). */
export const ALTERNATE_MODEL = "anthropic/claude-sonnet-4.5";

/** A model id to suggest instead of `model`. */
export function suggestedModel(model: string): string {
  return model === DEFAULT_MODEL ? ALTERNATE_MODEL : DEFAULT_MODEL;
}

export type LlmRole = "planner" | "evaluator";

/** The env variable that picks the model of a role. */
export const modelVariable = (role: LlmRole) => (role === "planner" ? "NAS_PLANNER_MODEL" : "NAS_EVALUATOR_MODEL");

export interface LlmSettings {
  role: LlmRole;
  apiKey: string;
  baseURL: string;
  model: string;
  /** Per-request timeout; timeouts and 5xx are retried by the client (maxRetries). */
  timeoutMs: number;
  maxRetries: number;
  /** Base delay of our own backoff for 429 answers the client does not retry. */
  backoffMs: number;
  /** How many 429 answers in a row we wait out before giving up. */
  rateLimitRetries: number;
  temperature: number;
}

type Env = Record<string, string | undefined>;

/** True when an API key is set, i.e. the llm planners and the llm evaluator can run. */
export function llmConfigured(env: Env): boolean {
  return (env.OPENROUTER_API_KEY ?? "").trim() !== "";
}

export function noLlmError(): UserError {
  return new UserError(
    "no LLM is configured: OPENROUTER_API_KEY is not set; put it in .env (see .env.example) or use --planner optuna",
  );
}

/** Read and check the settings for one role; throws a UserError naming the bad variable. */
export function readLlmSettings(env: Env, role: LlmRole): LlmSettings {
  if (!llmConfigured(env)) throw noLlmError();
  const modelVar = modelVariable(role);
  const baseURL = (env.NAS_LLM_BASE_URL ?? "").trim() || DEFAULT_BASE_URL;
  if (!/^https?:\/\//.test(baseURL)) {
    throw new UserError(`NAS_LLM_BASE_URL must start with http:// or https:// (got "${baseURL}"); fix it in .env`);
  }
  return {
    role,
    apiKey: (env.OPENROUTER_API_KEY ?? "").trim(),
    baseURL: baseURL.replace(/\/+$/, ""),
    model: (env[modelVar] ?? "").trim() || DEFAULT_MODEL,
    timeoutMs: intVar(env, "NAS_LLM_TIMEOUT_MS", 120_000, 1),
    maxRetries: intVar(env, "NAS_LLM_MAX_RETRIES", 2, 0),
    backoffMs: intVar(env, "NAS_LLM_BACKOFF_MS", 2000, 0),
    rateLimitRetries: intVar(env, "NAS_LLM_RATE_LIMIT_RETRIES", 4, 0),
    temperature: role === "planner" ? 0.7 : 0,
  };
}

function intVar(env: Env, name: string, fallback: number, min: number): number {
  const raw = (env[name] ?? "").trim();
  if (raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new UserError(`${name} must be an integer >= ${min} (got "${raw}"); fix it in .env`);
  }
  return value;
}
