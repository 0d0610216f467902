/**
 * Structured logs (pino) go to stderr as JSON when NAS_LOG_LEVEL is set to debug/info,
 * and are quiet (warn) otherwise; human-readable progress is printed by src/ui.ts.
 * Secrets are redacted wherever they appear in a logged object.
 */
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

export const logger = pino(
  {
    level: process.env.NAS_LOG_LEVEL ?? "warn",
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    base: undefined,
  },
  pino.destination(2),
);

export type Logger = typeof logger;
