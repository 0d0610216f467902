/**
 * The README's install step, tested: `npm install -g .` from the checkout (what `npm link` does)
 * into a temp prefix, offline, puts a `nas-graph` on that prefix's PATH that works from any
 * folder: it links back to the checkout, so the checkout's .venv and nas_system are used.
 */
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { makeWorkspace, removeWorkspace, REPO } from "./helpers/workspace.js";

const prefix = fs.mkdtempSync(path.join(os.tmpdir(), "nas-graph-prefix-"));
const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), "nas-graph-elsewhere-"));
const dirs: string[] = [];
afterAll(() => {
  for (const d of [prefix, elsewhere]) fs.rmSync(d, { recursive: true, force: true });
  for (const d of dirs) removeWorkspace(d);
});

describe("install the CLI on the PATH", () => {
  it("npm install -g . puts a nas-graph that runs from another folder", () => {
    // the build leaves the CLI executable: a bin link made before a rebuild (npm link, npx's cache
    // of this checkout) runs the rebuilt file, which tsc alone writes without the x bit
    expect(fs.statSync(path.join(REPO, "dist", "cli.js")).mode & 0o111).not.toBe(0);
    execFileSync("npm", ["install", "-g", "--prefix", prefix, "--offline", "--no-audit", "--no-fund", "."], { cwd: REPO, stdio: "pipe" });
    const bin = path.join(prefix, "bin", "nas-graph");
    expect(fs.existsSync(bin)).toBe(true);
    const env = { ...process.env, PATH: `${path.join(prefix, "bin")}${path.delimiter}${process.env.PATH}`, NO_COLOR: "1" };
    // by name, from a folder that is not the checkout
    const help = spawnSync("nas-graph", ["--help"], { cwd: elsewhere, env, encoding: "utf8" });
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/^Usage: nas-graph \[options\] \[command\]/);
    expect(help.stdout).toMatch(/^ {2}rebuild \[options\]/m);
    // a command on a workspace given by path, still from elsewhere
    const ws = makeWorkspace();
    dirs.push(ws);
    const status = spawnSync("nas-graph", ["status", "--system-dir", ws], { cwd: elsewhere, env, encoding: "utf8" });
    expect(status.status, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^no runs yet/);
  }, 120_000);
});
