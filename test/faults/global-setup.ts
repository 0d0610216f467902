/** Vitest global setup of the fault suite: a fresh ledger, then the one summary line at teardown. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { passed, summarize, summaryLine } from "./ledger.js";

export default function setup(): () => void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nas-faults-"));
  const file = path.join(dir, "ledger.jsonl");
  process.env.NAS_FAULTS_LEDGER = file;
  return () => {
    const s = summarize(file);
    fs.rmSync(dir, { recursive: true, force: true });
    console.log(summaryLine(s));
    if (!passed(s)) throw new Error(`fault suite failed: ${summaryLine(s)}`);
  };
}
