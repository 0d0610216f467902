/**
 * Prompt templates live in prompts/<name>.md with named slots like {{best_val_mse}}.
 * Rendering is strict both ways: a slot the template uses but the caller did not give,
 * and a value the caller gave that the template never uses, are both errors, so the
 * templates and the code that fills them cannot drift apart silently.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { UserError } from "./errors.js";

/** <package root>/prompts: this file sits in src/ (vitest) or dist/ (built), one level down. */
export const PROMPTS_DIR = fileURLToPath(new URL("../prompts/", import.meta.url));

const SLOT = /\{\{\s*([a-z][a-z0-9_]*)\s*\}\}/g;
const cache = new Map<string, string>();

export type Slots = Record<string, string | number>;

export function loadPrompt(name: string): string {
  if (!/^[a-z][a-z0-9_-]*$/.test(name)) throw new Error(`invalid prompt name "${name}"`);
  const cached = cache.get(name);
  if (cached !== undefined) return cached;
  const path = `${PROMPTS_DIR}${name}.md`;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new UserError(`prompt template ${path} is missing; reinstall nas-graph or restore the file`);
  }
  cache.set(name, text);
  return text;
}

/** The slot names a template uses, in order of first use. */
export function slotNames(template: string): string[] {
  return [...new Set([...template.matchAll(SLOT)].map((m) => m[1]))];
}

export function renderPrompt(name: string, slots: Slots): string {
  const template = loadPrompt(name);
  const used = slotNames(template);
  const missing = used.filter((s) => !(s in slots));
  if (missing.length > 0) throw new Error(`prompt "${name}": no value for slot(s) ${missing.join(", ")}`);
  const unused = Object.keys(slots).filter((s) => !used.includes(s));
  if (unused.length > 0) throw new Error(`prompt "${name}": slot(s) ${unused.join(", ")} not used by the template`);
  return template.replace(SLOT, (_m, slot: string) => String(slots[slot]));
}
