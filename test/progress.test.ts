/**
 * Live progress: the renderer on its own (several trainings at once, plain and bar modes), and
 * the plain (non-TTY) output of a real search through the CLI, with and without --json.
 */
import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import pc from "picocolors";
import * as cliProgress from "cli-progress";
import { BarRenderer, clock, parseProgressLine, PlainRenderer, type ProgressEvent } from "../src/progress.js";
import { cliEnv, LR_DECISION, makeWorkspace, readAgentState, removeWorkspace, runCli, writeMockScript } from "./helpers/workspace.js";

const ESC = "\u001b";
const plainColors = pc.createColors(false);

function start(run: string, t = 100): ProgressEvent {
  return { event: "start", run, t, max_epochs: 2, batches: 10, n_params: 1234, device: "cpu", seed: 1 };
}
function epoch(run: string, n: number, val: number, t: number): ProgressEvent {
  return { event: "epoch", run, t, epoch: n, max_epochs: 2, train_mse: 0.5, val_mse: val, best_val_mse: val, best_epoch: n, seconds: 4 };
}

describe("progress renderer", () => {
  it("parses channel lines and drops anything else", () => {
    expect(parseProgressLine('{"event":"batch","run":"run_0001","t":1,"epoch":1,"batch":2,"batches":9}')).toMatchObject({ event: "batch", batch: 2 });
    expect(parseProgressLine('{"event":"epo')).toBeNull(); // torn line of a killed child
    expect(parseProgressLine('{"event":"other","run":"x"}')).toBeNull();
    expect(parseProgressLine("epoch 1/2  train_mse 0.1")).toBeNull();
    expect(clock(3725)).toBe("1:02:05");
    expect(clock(65)).toBe("1:05");
  });

  it("plain mode: interleaved trainings each get their own lines, no batch noise", () => {
    const out: string[] = [];
    const r = new PlainRenderer((l) => out.push(l), plainColors);
    const a = r.training("run_0001");
    const b = r.training("run_0002");
    a.event(start("run_0001"));
    b.event(start("run_0002"));
    a.event({ event: "batch", run: "run_0001", t: 101, epoch: 1, batch: 5, batches: 10 });
    b.event(epoch("run_0002", 1, 0.3, 104));
    a.event(epoch("run_0001", 1, 0.2, 105));
    a.line("epoch 1/2  train_mse 0.5000  val_mse 0.2000", "stdout");
    b.line("cuda requested but not available; training on the CPU", "stderr");
    a.event({ event: "end", run: "run_0001", t: 110, status: "ok", val_mse: 0.2, best_epoch: 1, epochs_run: 2 });
    b.event({ event: "end", run: "run_0002", t: 111, status: "diverged", reason: "training loss became nan in epoch 2" });
    expect(out).toEqual([
      "  run_0001 training: up to 2 epochs of 10 batches, 1,234 params on cpu",
      "  run_0002 training: up to 2 epochs of 10 batches, 1,234 params on cpu",
      "  run_0002 epoch 1/2 · train 0.5000 · val 0.3000 *best · 4.0s · ETA 0:04",
      "  run_0001 epoch 1/2 · train 0.5000 · val 0.2000 *best · 4.0s · ETA 0:05",
      "  [run_0002] cuda requested but not available; training on the CPU",
      "  run_0001 done: val 0.2000 at epoch 1 of 2 · 0:10",
      "  run_0002 diverged: training loss became nan in epoch 2 · 0:11",
    ]);
  });

  it("bar mode: one live bar per training, lines above them, cursor restored at the end", async () => {
    const stream = Object.assign(new PassThrough(), { isTTY: true, columns: 150, rows: 40 }) as unknown as NodeJS.WriteStream;
    // readline's cursor helpers need these on a TTY stream
    Object.assign(stream, { cursorTo: () => true, moveCursor: () => true, clearLine: () => true, clearScreenDown: () => true });
    let text = "";
    (stream as unknown as PassThrough).on("data", (d) => (text += String(d)));
    const r = new BarRenderer(cliProgress, stream, plainColors);
    const a = r.training("run_0001");
    const b = r.training("run_0002");
    a.event(start("run_0001"));
    b.event(start("run_0002"));
    a.event({ event: "batch", run: "run_0001", t: 101, epoch: 1, batch: 5, batches: 10 });
    b.event({ event: "batch", run: "run_0002", t: 101, epoch: 1, batch: 8, batches: 10 });
    await new Promise((res) => setTimeout(res, 300)); // a redraw
    expect(text).toMatch(/run_0001 .*epoch 1\/2 · batch 5\/10/);
    expect(text).toMatch(/run_0002 .*epoch 1\/2 · batch 8\/10/);
    a.event(epoch("run_0001", 1, 0.2, 105));
    a.event({ event: "end", run: "run_0001", t: 110, status: "ok", val_mse: 0.2, best_epoch: 1, epochs_run: 2 });
    r.log("verdict run_0001 ACCEPTED");
    b.end(); // the child exited without an end event (killed): the bar still closes
    expect(text).toContain("run_0001 epoch 1/2 · train 0.5000 · val 0.2000 *best");
    expect(text).toContain("run_0001 done: val 0.2000");
    expect(text).toContain("verdict run_0001 ACCEPTED");
    expect(text.lastIndexOf(`${ESC}[?25h`)).toBeGreaterThan(text.lastIndexOf(`${ESC}[?25l`)); // cursor shown again
    const before = text.length;
    r.log("after the bars");
    expect(text.slice(before)).toBe("after the bars\n"); // no bar left: direct writes
  });
});

describe("progress through the CLI (not a TTY)", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) removeWorkspace(d);
  });

  it("prints a header, the plan, the diff, one line per epoch and the verdict, with no escape codes", async () => {
    const dir = makeWorkspace();
    dirs.push(dir);
    const mock = writeMockScript(dir, [LR_DECISION]);
    // colours are on only for a terminal: NO_COLOR unset here on purpose
    const res = await runCli(["run", "--system-dir", dir, "--planner", "mock", "--mock-file", mock, "--baseline-seeds", "1", "--max-iterations", "2", "--json"], {
      env: cliEnv({ NO_COLOR: undefined, FORCE_COLOR: undefined, TERM: "xterm-256color" }),
    });
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ status: "finished", iterations: 2 }); // stdout: the summary only
    const err = res.stderr;
    expect(err).not.toContain(ESC);
    expect(err).not.toContain("\r");
    const state = readAgentState(dir);
    const [base, second] = state.runs.map((r) => r.run_id);
    expect(err).toMatch(new RegExp(`^iteration 1/2 · ${base} · baseline \\(seed ${state.runs[0].seed}\\) · best none yet · \\$0\\.000 · \\d+:\\d\\d$`, "m"));
    expect(err).toContain("plan [baseline] ");
    expect(err).toMatch(/^best .*\(1 run recorded\)$/m); // one run: no "1 runs"
    expect(err).toMatch(/^best .*\(2 runs recorded\)$/m);
    const bestVal = (state.runs[0].val_mse as number).toFixed(4);
    expect(err).toMatch(new RegExp(`^iteration 2/2 · ${second} · planner mock · best ${bestVal} \\(${base}\\) · \\$0\\.000 · \\d+:\\d\\d$`, "m"));
    expect(err).toContain("plan [small, mock] Raise the learning rate");
    expect(err).toMatch(/^ {2}\+.*"lr": 0\.001/m); // the config diff
    for (const id of [base, second]) {
      expect(err).toMatch(new RegExp(`^  ${id} training: up to 2 epochs of \\d+ batches, [\\d,]+ params on cpu$`, "m"));
      expect(err).toMatch(new RegExp(`^  ${id} epoch 1/2 · train \\d\\.\\d{4} · val \\d\\.\\d{4}( \\*best)? · [\\d.]+s · ETA \\d+:\\d\\d$`, "m"));
      expect(err).toMatch(new RegExp(`^  ${id} epoch 2/2 · train \\d\\.\\d{4} · val \\d\\.\\d{4}( \\*best)? · [\\d.]+s$`, "m"));
      expect(err).toMatch(new RegExp(`^  ${id} done: val \\d\\.\\d{4} at epoch [12] of 2 · \\d+:\\d\\d$`, "m"));
      expect(err).toMatch(new RegExp(`^verdict ${id} (ACCEPTED|REJECTED): .+$`, "m"));
    }
    expect(err).not.toMatch(/batch \d+\/\d+/); // no batch lines outside a terminal
    expect(err).not.toContain("test_mse"); // train.py's own log (with held-out test) is not echoed
  });
});
