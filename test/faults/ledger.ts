/**
 * The fault ledger: every injection a fault test makes records one line (injected, survived, runs
 * lost, payloads executed) in the JSONL file the global setup names in NAS_FAULTS_LEDGER. The global
 * setup's teardown sums it into the one summary line and fails the run on anything but survival.
 */
import fs from "node:fs";

export interface Injection {
  /** The fault family and case, e.g. "training/crash". */
  name: string;
  /** The product went on: exit 0, state consistent, config.py parses. */
  survived: boolean;
  /** Finished runs missing from agent_state.json after the fault. */
  runsLost: number;
  /** Injected payloads that executed (a sentinel file appeared). */
  executed: number;
}

export function record(injection: Injection): void {
  const file = process.env.NAS_FAULTS_LEDGER;
  if (!file) throw new Error("NAS_FAULTS_LEDGER is not set: run the fault suite with `npm run test:faults`");
  fs.appendFileSync(file, JSON.stringify(injection) + "\n");
}

export interface Summary { injected: number; survived: number; runsLost: number; executed: number }

export function summarize(file: string): Summary {
  const lines = fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean) : [];
  const rows = lines.map((l) => JSON.parse(l) as Injection);
  return {
    injected: rows.length,
    survived: rows.filter((r) => r.survived).length,
    runsLost: rows.reduce((s, r) => s + r.runsLost, 0),
    executed: rows.reduce((s, r) => s + r.executed, 0),
  };
}

export function summaryLine(s: Summary): string {
  return `faults: ${s.injected} injected, ${s.survived} survived, ${s.runsLost} runs lost, ${s.executed} executed`;
}

/** The suite passes only when every injection survived, with no run lost and nothing executed. */
export function passed(s: Summary): boolean {
  return s.injected > 0 && s.survived === s.injected && s.runsLost === 0 && s.executed === 0;
}
