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
    if (!passed(s)) {
      // vitest reports a teardown error but exits 0: set the exit code ourselves
      console.error(`fault suite failed: ${summaryLine(s)} (expected every injection survived, 0 runs lost, 0 executed)`);
      process.exitCode = 1;
    }
  };
}
