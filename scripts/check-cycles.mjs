#!/usr/bin/env node
/**
 * Import cycles, both sides (npm run check:cycles). Dependency-free: reads the import lines of
 * src/**\/*.ts (type-only imports included: a cycle of types is still two files that cannot be
 * read apart) and asks Python's ast for nas_system's own imports (scripts/check_cycles.py).
 * Prints each cycle on one line; exit 1 when there is one, 0 when there is none.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Relative imports of every .ts file under `root`: Map<file, Set<file>> (paths relative to REPO). */
export function tsImports(root = path.join(REPO, "src")) {
  const graph = new Map();
  const files = fs.readdirSync(root, { recursive: true }).map(String).filter((f) => f.endsWith(".ts"));
  for (const rel of files) {
    const file = path.join(root, rel);
    const text = fs.readFileSync(file, "utf8");
    const deps = new Set();
    // import ... from "x"; export ... from "x"; import "x"; import("x")
    const re = /(?:^|\n)\s*(?:import|export)\s[^;]*?\sfrom\s*["'](\.[^"']+)["']|(?:^|\n)\s*import\s*["'](\.[^"']+)["']|\bimport\(\s*["'](\.[^"']+)["']\s*\)/g;
    for (const m of text.matchAll(re)) {
      const spec = m[1] ?? m[2] ?? m[3];
      const target = path.resolve(path.dirname(file), spec.replace(/\.js$/, ".ts"));
      if (fs.existsSync(target)) deps.add(path.relative(REPO, target));
    }
    graph.set(path.relative(REPO, file), deps);
  }
  return graph;
}

/** Every cycle's files (strongly connected components of more than one file, or a file importing itself). */
export function cycles(graph) {
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const on = new Set();
  const out = [];
  const visit = (v) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const scc = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || graph.get(v)?.has(v)) out.push(scc.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) visit(v);
  return out;
}

function main() {
  const found = cycles(tsImports()).map((c) => `TypeScript: ${c.join(" <-> ")}`);
  const python = process.env.NAS_PYTHON ?? (fs.existsSync(path.join(REPO, ".venv", "bin", "python")) ? path.join(REPO, ".venv", "bin", "python") : "python3");
  const py = spawnSync(python, [path.join(REPO, "scripts", "check_cycles.py")], { encoding: "utf8" });
  if (py.error || (py.status !== 0 && py.status !== 1)) {
    console.error(`error: cannot run ${python} scripts/check_cycles.py (${py.error?.message ?? py.stderr.trim()}); set NAS_PYTHON to a Python 3.10+`);
    process.exit(2);
  }
  found.push(...py.stdout.split("\n").filter(Boolean).map((l) => `Python: ${l}`));
  for (const line of found) console.log(line);
  if (found.length > 0) {
    console.error(`${found.length} import cycle(s): break each by moving what both files need into a module of its own`);
    process.exit(1);
  }
  console.log("no import cycles (src/ and nas_system/)");
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
