/** The fault ledger's verdict: the suite passes only when every injection survived, no run lost, nothing executed. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { passed, record, summarize, summaryLine } from "./faults/ledger.js";

let dir = "";
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "ledger-"));
  process.env.NAS_FAULTS_LEDGER = path.join(dir, "ledger.jsonl");
});
afterEach(() => {
  delete process.env.NAS_FAULTS_LEDGER;
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("fault ledger", () => {
  it("sums the injections into the summary line and passes only on full survival", () => {
    record({ name: "a", survived: true, runsLost: 0, executed: 0 });
    record({ name: "b", survived: true, runsLost: 0, executed: 0 });
    const s = summarize(process.env.NAS_FAULTS_LEDGER!);
    expect(summaryLine(s)).toBe("faults: 2 injected, 2 survived, 0 runs lost, 0 executed");
    expect(passed(s)).toBe(true);
  });
  it("fails on a lost run, an executed payload, a non-survival or an empty ledger", () => {
    const ok = { injected: 2, survived: 2, runsLost: 0, executed: 0 };
    expect(passed({ ...ok, runsLost: 1 })).toBe(false);
    expect(passed({ ...ok, executed: 1 })).toBe(false);
    expect(passed({ ...ok, survived: 1 })).toBe(false);
    expect(passed(summarize(path.join(dir, "missing.jsonl")))).toBe(false);
  });
  it("refuses to record without the suite's ledger", () => {
    delete process.env.NAS_FAULTS_LEDGER;
    expect(() => record({ name: "x", survived: true, runsLost: 0, executed: 0 })).toThrow(/npm run test:faults/);
  });
});
