/**
 * Injection attempts (issue 18, family 2): payloads in config changes, family switches and family
 * defaults/recipes go through the helper the CLI calls (`python -m nas_agent config-apply`) on a
 * temp copy of the tiny workspace, and three through the real CLI with the mock planner.
 * Pass: a sentinel file never appears (config.py is also executed, with torch stubbed, after each
 * apply), config.py always parses, and each change is refused with a reason (exit 2, errors, file
 * unchanged) or written as an inert literal that reads back equal.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliEnv, makeWorkspace, readAgentState, removeWorkspace, REPO, runCli, writeMockScript } from "../helpers/workspace.js";
import { record } from "./ledger.js";

const PY = path.join(REPO, ".venv", "bin", "python");

/** Parses config.py, then executes it with torch stubbed (no torch import: fast) and prints the values asked for. */
const CHECK = `
import ast, json, sys, types
src = open(sys.argv[1], encoding="utf-8").read()
ast.parse(src)
class Stub:
    def __getattr__(self, name): return Stub()
    def __call__(self, *a, **k): return Stub()
torch = types.ModuleType("torch"); torch.nn = Stub(); torch.optim = Stub(); torch.__getattr__ = lambda n: Stub()
sys.modules["torch"] = torch
ns = {"__name__": "config_under_test"}
exec(compile(src, sys.argv[1], "exec"), ns)
out = {}
for key in json.loads(sys.argv[2]):
    cur = ns
    for part in key.split("."):
        cur = cur[part]
    out[key] = cur
print(json.dumps(out))
`;

type Change = { key: string; value: unknown };
interface Payload {
  name: string;
  changes: Change[];
  /** Extra search-space sections (family_defaults / recipes) merged into the tiny space for this payload. */
  space?: (raw: Record<string, any>) => void;
  /** Keys outside the search space (family defaults, recipes) whose literal must read back equal when written. */
  extraReadback?: Record<string, unknown>;
}

let ws = "";
let sentinel = "";
let checkFile = "";
const tinySpace = () => JSON.parse(fs.readFileSync(path.join(REPO, "test", "fixtures", "tiny_search_space.json"), "utf8"));

function helper(args: string[]) {
  const r = spawnSync(PY, ["-m", "nas_agent", "--system-dir", ws, ...args], {
    cwd: ws, env: { ...cliEnv(), PYTHONPATH: ws }, encoding: "utf8", timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function check(keys: string[]): Record<string, unknown> {
  const r = spawnSync(PY, [checkFile, path.join(ws, "config.py"), JSON.stringify(keys)], { cwd: ws, encoding: "utf8", timeout: 60_000 });
  expect(r.status, `config.py does not parse or run: ${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout);
}

// Every payload that would run tries to create this file (its absolute path, filled in below).
const P = (s: string) => s.replaceAll("S", "__SENTINEL__");
const TOUCH = P("__import__('os').system('touch S')");

const PAYLOADS: Payload[] = [
  // dunder and attribute-walking keys, new top-level names
  { name: "key __class__.__init__", changes: [{ key: "__class__.__init__", value: 1 }] },
  { name: "key model.__class__.__init__.__globals__", changes: [{ key: "model.__class__.__init__.__globals__", value: "x" }] },
  { name: "key training.optimizer_params.__init__", changes: [{ key: "training.optimizer_params.__init__", value: 1 }] },
  { name: "key is a Python call", changes: [{ key: TOUCH, value: 1 }] },
  { name: "key os.system", changes: [{ key: "os.system", value: P("touch S") }] },
  { name: "key new top-level name", changes: [{ key: "evil_top", value: 1 }] },
  { name: "key __builtins__", changes: [{ key: "__builtins__", value: "x" }] },
  { name: "key get_config (a function of the file)", changes: [{ key: "get_config", value: TOUCH }] },
  { name: "key with a statement after ;", changes: [{ key: "model.d_model; import os", value: 16 }] },
  { name: "key with a newline", changes: [{ key: P("model.d_model\nimport os; os.system('touch S')"), value: 16 }] },
  { name: "key subscript", changes: [{ key: "model['d_model']", value: 16 }] },
  // class names outside the allow-list, and expressions in class keys
  { name: "class os.system", changes: [{ key: "training.optimizer_class", value: "os.system" }] },
  { name: "class subprocess.Popen", changes: [{ key: "training.optimizer_class", value: "subprocess.Popen" }] },
  { name: "class builtins.eval", changes: [{ key: "training.criterion_class", value: "builtins.eval" }] },
  { name: "class is a Python call", changes: [{ key: "training.criterion_class", value: TOUCH }] },
  { name: "class with a statement after ;", changes: [{ key: "training.scheduler_class", value: "optim.lr_scheduler.StepLR; import os" }] },
  { name: "class with newlines", changes: [{ key: "training.optimizer_class", value: P("optim.AdamW\nimport os\nos.system('touch S')") }] },
  { name: "class attribute walk", changes: [{ key: "training.optimizer_class", value: "optim.Adam.__class__.__init__" }] },
  { name: "class call", changes: [{ key: "training.optimizer_class", value: "optim.Adam()" }] },
  // strings with quotes, backslashes, unicode escapes, shell metacharacters
  { name: "str breaking out with a double quote", changes: [{ key: "model.activation", value: `gelu"; ${TOUCH}; x="` }] },
  { name: "str breaking out with a single quote", changes: [{ key: "model.attn", value: `prob' + ${TOUCH} + '` }] },
  { name: "str with a backslash before the quote", changes: [{ key: "model.activation", value: '\\"; import os #' }] },
  { name: "str spelled with a JSON unicode escape (gelu)", changes: [{ key: "model.activation", value: "gel\u0075" }] },
  { name: "str $(touch)", changes: [{ key: "model.activation", value: P("$(touch S)") }] },
  { name: "str ; rm -rf", changes: [{ key: "model.activation", value: P("relu; rm -rf / ; touch S") }] },
  { name: "str backticks", changes: [{ key: "model.attn", value: P("`touch S`") }] },
  // expressions where numbers and booleans belong
  { name: "float key given a Python call", changes: [{ key: "model.dropout", value: TOUCH }] },
  { name: "float key given a dunder object", changes: [{ key: "training.optimizer_params.lr", value: { __class__: 1 } }] },
  { name: "float key given a list", changes: [{ key: "model.dropout", value: ["os.system", P("touch S")] }] },
  { name: "int key given code", changes: [{ key: "model.d_model", value: P("16); import os; os.system('touch S'); (1") }] },
  { name: "bool key given code", changes: [{ key: "model.distil", value: `True or ${TOUCH}` }] },
  // family switches
  { name: "family with a double quote", changes: [{ key: "model.family", value: `informer"; ${TOUCH} #` }] },
  { name: "family with a newline", changes: [{ key: "model.family", value: `dlinear\n${TOUCH}` }] },
  { name: "family os.system", changes: [{ key: "model.family", value: "os.system" }] },
  // family defaults and recipes: a switch writes them; non-search keys take any plain literal
  {
    name: "family default holding a Python call",
    changes: [{ key: "model.family", value: "dlinear" }],
    space: (s) => { s.family_defaults.dlinear["model.note"] = TOUCH; },
    extraReadback: { "model.note": TOUCH },
  },
  {
    name: "family default breaking out with quotes, backslashes, newline, U+2028, NUL",
    changes: [{ key: "model.family", value: "nlinear" }],
    space: (s) => { s.family_defaults.nlinear["model.note"] = P(`"; import os; os.system('touch S'); "\\\n'''\u2028\u0000$(touch S)`); },
    extraReadback: { "model.note": P(`"; import os; os.system('touch S'); "\\\n'''\u2028\u0000$(touch S)`) },
  },
  {
    name: "family default with a dunder key",
    changes: [{ key: "model.family", value: "dlinear" }],
    space: (s) => { s.family_defaults.dlinear["model.__class__"] = 1; },
  },
  {
    name: "family default with a code key",
    changes: [{ key: "model.family", value: "dlinear" }],
    space: (s) => { s.family_defaults.dlinear[TOUCH] = 1; },
  },
  {
    name: "family default with a dict value",
    changes: [{ key: "model.family", value: "dlinear" }],
    space: (s) => { s.family_defaults.dlinear["model.note"] = { __reduce__: TOUCH }; },
  },
  {
    name: "recipe value with shell metacharacters and triple quotes",
    changes: [{ key: "model.family", value: "patchtst" }],
    space: (s) => {
      s.recipes = { patchtst: { source: "test recipe", values: { "training.note": P(`$(touch S)"""; ${TOUCH} #`) } } };
    },
    extraReadback: { "training.note": P(`$(touch S)"""; ${TOUCH} #`) },
  },
  {
    name: "recipe with an out-of-list class",
    changes: [{ key: "model.family", value: "patchtst" }],
    space: (s) => { s.recipes = { patchtst: { source: "test recipe", values: { "training.optimizer_class": "os.system" } } }; },
  },
  {
    name: "recipe with a code key",
    changes: [{ key: "model.family", value: "patchtst" }],
    space: (s) => { s.recipes = { patchtst: { source: "test recipe", values: { [TOUCH]: 1 } } }; },
  },
];

describe("injection payloads through config-apply", () => {
  beforeAll(() => {
    ws = makeWorkspace();
    sentinel = path.join(ws, "PWNED");
    checkFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "nas-inject-")), "check.py");
    fs.writeFileSync(checkFile, CHECK);
  });
  afterAll(() => {
    removeWorkspace(ws);
    fs.rmSync(path.dirname(checkFile), { recursive: true, force: true });
  });

  it(`has at least 30 payloads (${PAYLOADS.length})`, () => {
    expect(PAYLOADS.length).toBeGreaterThanOrEqual(30);
  });

  it.each(PAYLOADS.map((p) => [p.name, p] as const))("%s", (_name, payload) => {
    const fill = (v: unknown): unknown => JSON.parse(JSON.stringify(v).replaceAll("__SENTINEL__", sentinel));
    const changes = fill(payload.changes) as Change[];
    const spaceFile = path.join(ws, "search_space.json");
    const original = tinySpace();
    const configFile = path.join(ws, "config.py");
    const pristine = fs.readFileSync(configFile, "utf8");
    try {
      if (payload.space) {
        const s = tinySpace();
        payload.space(s);
        fs.writeFileSync(spaceFile, JSON.stringify(fill(s)));
      }
      const before = fs.readFileSync(configFile);
      const res = helper(["config-apply", "--changes", JSON.stringify(changes)]);
      const answer = JSON.parse(res.stdout);
      let outcome: "refused" | "written";
      if (res.code === 2) {
        outcome = "refused";
        expect(answer.ok).toBe(false);
        const reason = String(answer.errors?.[0] ?? answer.error ?? ""); // a reason, not a bare flag
        expect(reason.length).toBeGreaterThan(10);
        expect(fs.readFileSync(configFile).equals(before)).toBe(true);
      } else {
        expect(res.code, res.stderr + res.stdout).toBe(0);
        outcome = "written";
        // an inert literal: reads back equal through config-get (search keys) and by executing the file (the rest)
        const got = JSON.parse(helper(["config-get"]).stdout);
        for (const c of changes) expect(got.values[c.key]).toEqual(c.value);
      }
      const extra = outcome === "written" ? (fill(payload.extraReadback ?? {}) as Record<string, unknown>) : {};
      const read = check(Object.keys(extra)); // parses and executes config.py with torch stubbed
      for (const [k, v] of Object.entries(extra)) expect(read[k]).toEqual(v);
      expect(res.stderr).not.toMatch(/Traceback/);
      const executed = fs.existsSync(sentinel) ? 1 : 0;
      expect(executed, `payload executed: ${payload.name}`).toBe(0);
      record({ name: `injection/${outcome}/${payload.name}`, survived: true, runsLost: 0, executed });
    } finally {
      fs.writeFileSync(spaceFile, JSON.stringify(original));
      fs.writeFileSync(configFile, pristine);
    }
  });
});

describe("injection payloads through the CLI (mock planner)", () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs.splice(0)) removeWorkspace(d);
  });
  const cases: Array<[string, (s: string) => Change]> = [
    ["class os.system", () => ({ key: "training.optimizer_class", value: "os.system" })],
    ["str breaking out with a quote", (s) => ({ key: "model.activation", value: `gelu"; __import__('os').system('touch ${s}') #` })],
    ["key is a Python call", (s) => ({ key: `__import__('os').system('touch ${s}')`, value: 1 })],
  ];
  // the three runs share the machine at once (each mostly waits on its baseline training)
  it.concurrent.each(cases)("%s", async (name, make) => {
    const dir = makeWorkspace();
    dirs.push(dir);
    const sentinelFile = path.join(dir, "PWNED");
    const mock = writeMockScript(dir, [{
      step_type: "small", plan: "try a payload", reason: "fault suite", config_changes: [make(sentinelFile)],
    }]);
    const incumbent = fs.readFileSync(path.join(dir, "config.py"), "utf8");
    const res = await runCli(["run", "--system-dir", dir, "--planner", "mock", "--mock-file", mock, "--baseline-seeds", "1",
      "--max-iterations", "2"], { env: cliEnv() });
    // the change is refused: the search goes on (exit 0) or stops with a one-line error naming the entry (exit 2)
    expect([0, 2], res.stderr).toContain(res.code);
    if (res.code === 2) expect(res.stderr).toMatch(/^error: .*planner\[0\] is invalid: .*; fix that entry$/m);
    expect(res.stderr).not.toMatch(/Traceback|\n\s+at .*\.js:\d+/);
    const check = spawnSync(PY, ["-c", "import ast,sys; ast.parse(open(sys.argv[1]).read())", path.join(dir, "config.py")]);
    expect(check.status).toBe(0);
    const state = readAgentState(dir);
    const lost = state.runs.some((r) => r.status === "ok") ? 0 : 1; // the baseline run is kept
    // the refused change never reached config.py: it is still the incumbent (the baseline)
    expect(fs.readFileSync(path.join(dir, "config.py"), "utf8")).toBe(incumbent);
    const executed = fs.existsSync(sentinelFile) ? 1 : 0;
    expect(executed).toBe(0);
    record({ name: `injection/cli/${name}`, survived: lost === 0, runsLost: lost, executed });
  });
});
