/** No import cycle on either side: `npm run check:cycles` (scripts/check-cycles.mjs and scripts/check_cycles.py). */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { pythonBin } from "../src/python.js";
import { REPO } from "./helpers/workspace.js";
// @ts-expect-error: a plain .mjs script without types
import { cycles, tsImports } from "../scripts/check-cycles.mjs";

describe("import cycles", () => {
  it("finds none in src/ and nas_system/ (npm run check:cycles)", () => {
    const res = spawnSync(process.execPath, [path.join(REPO, "scripts", "check-cycles.mjs")], { encoding: "utf8" });
    expect(res.stdout + res.stderr).toContain("no import cycles");
    expect(res.status).toBe(0);
  });

  it("reports a cycle when there is one, type-only imports included (TypeScript and Python)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nas-graph-cycles-"));
    try {
      fs.writeFileSync(path.join(dir, "a.ts"), 'import type { B } from "./b.js";\nexport type A = B;\n');
      fs.writeFileSync(path.join(dir, "b.ts"), 'import { c } from "./c.js";\nexport type B = string;\nexport const b = c;\n');
      fs.writeFileSync(path.join(dir, "c.ts"), 'export const c = 1;\nexport async function f() { return import("./a.js"); }\n');
      const graph = tsImports(dir) as Map<string, Set<string>>;
      const found = (cycles(graph) as string[][]).map((c) => c.map((f) => path.basename(f)));
      expect(found).toEqual([["a.ts", "b.ts", "c.ts"]]);

      const pkg = path.join(dir, "pkg");
      fs.mkdirSync(pkg);
      fs.writeFileSync(path.join(pkg, "__init__.py"), "");
      fs.writeFileSync(path.join(pkg, "x.py"), "from .y import f\n");
      fs.writeFileSync(path.join(pkg, "y.py"), "def f():\n    from . import x  # a lazy import is an edge too\n");
      fs.writeFileSync(path.join(pkg, "z.py"), "from pkg.x import f\n");
      const py = spawnSync(pythonBin(process.env), [path.join(REPO, "scripts", "check_cycles.py"), dir], { encoding: "utf8" });
      expect(py.status).toBe(1);
      expect(py.stdout.trim()).toBe("pkg/x.py <-> pkg/y.py");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a command imports no graph node's code (what both need lives in src/graph/, beside the nodes)", () => {
    const dir = path.join(REPO, "src", "commands");
    const reaching = fs.readdirSync(dir).filter((f) => f.endsWith(".ts")).flatMap((f) => {
      const text = fs.readFileSync(path.join(dir, f), "utf8");
      // types included: a node's contract (as the review's interrupt payload) lives in src/graph/state.ts
      return [...text.matchAll(/^import\s+[^;]*?from\s*["'](\.\.\/graph\/nodes\/[^"']+)["']/gm)].map((m) => `${f} -> ${m[1]}`);
    });
    expect(reaching).toEqual([]);
  });
});
