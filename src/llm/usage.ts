/** Token and cost accounting for LLM calls. Pure functions; callers sum and report. */
import type { LlmUsage } from "../contracts.js";

export function emptyUsage(): LlmUsage {
  return { calls: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0 };
}

export function addUsage(a: LlmUsage, b: LlmUsage): LlmUsage {
  return {
    calls: a.calls + b.calls,
    input_tokens: a.input_tokens + b.input_tokens,
    output_tokens: a.output_tokens + b.output_tokens,
    cost_usd: a.cost_usd + b.cost_usd,
  };
}

interface MessageLike {
  usage_metadata?: { input_tokens?: number; output_tokens?: number };
  response_metadata?: Record<string, unknown>;
}

/**
 * Usage of one answered call: tokens from usage_metadata, cost from OpenRouter's
 * `usage.cost` in response_metadata (0 when the server does not report one).
 */
export function usageOfMessage(message: MessageLike | null | undefined): LlmUsage {
  const meta = message?.usage_metadata;
  const usage = (message?.response_metadata?.usage ?? message?.response_metadata?.tokenUsage) as
    | Record<string, unknown>
    | undefined;
  const cost = typeof usage?.cost === "number" && Number.isFinite(usage.cost) ? usage.cost : 0;
  return {
    calls: 1,
    input_tokens: meta?.input_tokens ?? 0,
    output_tokens: meta?.output_tokens ?? 0,
    cost_usd: cost,
  };
}
