/**
 * The one error type a user should ever see: a one-line cause and fix.
 * cli.ts is the single handler: it prints `error: <message>` and exits with `exitCode`.
 * Anything else that escapes is a bug and is printed as such (still one line, plus a hint
 * to rerun with NAS_DEBUG=1 for the stack).
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = "UserError";
  }
}

/** Narrow an unknown thrown value to a one-line message. */
export function oneLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split("\n").find((l) => l.trim() !== "")?.trim() ?? "unknown error";
}
