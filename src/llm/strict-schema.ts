/**
 * The JSON schema of a tool's parameters, kept inside the strict-mode subset that OpenAI and
 * the stricter OpenAI-compatible validators accept (zod 4's toJSONSchema adds `$schema` and
 * may use keywords they reject):
 * - no `$schema` (nor any keyword outside STRICT_KEYWORDS);
 * - every object lists all its properties in `required` and has `additionalProperties: false`;
 * - a union of types is written as `anyOf` of single types, never as a `type` array.
 * Dropped keywords lose nothing: every answer is re-validated with the zod schema itself.
 */
import { z } from "zod";

/** The keywords our tool schemas may carry. */
export const STRICT_KEYWORDS = new Set(["type", "properties", "required", "additionalProperties", "items", "enum", "const", "anyOf", "description"]);

type Json = Record<string, unknown>;

export function strictJsonSchema(schema: z.ZodType): Json {
  return clean(z.toJSONSchema(schema, { target: "draft-2020-12", io: "input" }) as Json, "(root)");
}

function clean(node: Json, where: string): Json {
  if ("$ref" in node) throw new Error(`strict tool schema: ${where} uses $ref; inline the sub-schema`);
  const out: Json = {};
  for (const [key, value] of Object.entries(node)) {
    if (!STRICT_KEYWORDS.has(key)) continue;
    out[key] = value;
  }
  if (Array.isArray(out.type)) {
    const types = out.type as string[];
    delete out.type;
    out.anyOf = types.map((t) => ({ type: t }));
  }
  if (Array.isArray(out.anyOf)) out.anyOf = (out.anyOf as Json[]).map((s, i) => clean(s, `${where}.anyOf[${i}]`));
  if (out.items && typeof out.items === "object") out.items = clean(out.items as Json, `${where}.items`);
  if (out.type === "object" || out.properties) {
    const props = (out.properties ?? {}) as Record<string, Json>;
    const required = new Set((out.required as string[] | undefined) ?? []);
    const optional = Object.keys(props).filter((k) => !required.has(k));
    if (optional.length > 0) {
      // strict mode has no optional fields: a programming error in the zod schema
      throw new Error(`strict tool schema: ${where} has optional properties (${optional.join(", ")}); use .nullable() instead of .optional()`);
    }
    out.type = "object";
    out.properties = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, clean(v, `${where}.${k}`)]));
    out.required = Object.keys(props);
    out.additionalProperties = false;
  }
  return out;
}
