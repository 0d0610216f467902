/**
 * Training progress: train.py's JSON events (nas_agent/progress.py, one object per line on
 * their own channel) rendered as one view per training. Several trainings may report at once.
 *
 * - Plain mode (stderr not a TTY, or --json): one line per epoch and per end; no animation.
 * - Interactive mode: one live bar per training (cli-progress MultiBar, loaded lazily): epochs
 *   and batches, the latest train and val MSE, an ETA; epoch lines scroll above the bars.
 *
 * While bars are live, every other line must go through `log` so it lands above them.
 */
import type { Colors } from "picocolors/types.js";
import type { MultiBar, Options as BarOptions, Params as BarParams, SingleBar } from "cli-progress";

export interface StartEvent {
  event: "start";
  run: string;
  t: number;
  max_epochs: number;
  batches: number;
  n_params?: number;
  device?: string;
  seed?: number;
}
export interface BatchEvent {
  event: "batch";
  run: string;
  t: number;
  epoch: number;
  batch: number;
  batches: number;
}
export interface EpochEvent {
  event: "epoch";
  run: string;
  t: number;
  epoch: number;
  max_epochs: number;
  train_mse: number | null;
  val_mse: number | null;
  best_val_mse: number | null;
  best_epoch: number;
  seconds: number;
}
export interface EndEvent {
  event: "end";
  run: string;
  t: number;
  status: string;
  val_mse?: number | null;
  best_epoch?: number;
  epochs_run?: number;
  reason?: string;
}
export type ProgressEvent = StartEvent | BatchEvent | EpochEvent | EndEvent;

const KINDS = new Set(["start", "batch", "epoch", "end"]);

/** One channel line as an event, or null (torn line of a killed child, foreign text). */
export function parseProgressLine(line: string): ProgressEvent | null {
  try {
    const ev = JSON.parse(line) as ProgressEvent;
    return ev && typeof ev === "object" && KINDS.has(ev.event) && typeof ev.run === "string" ? ev : null;
  } catch {
    return null;
  }
}

/** The view of one training: fed its events and its output lines, closed when it exits. */
export interface TrainingView {
  event(ev: ProgressEvent): void;
  /** A human output line of train.py: stderr lines (notices, errors) are shown; stdout is its epoch log, which the events carry. */
  line(text: string, stream: "stdout" | "stderr"): void;
  end(): void;
}

export interface Renderer {
  /** Print one line (above the live bars, if any). */
  log(line: string): void;
  training(runId: string): TrainingView;
}

/** m:ss or h:mm:ss */
export function clock(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "-";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

function mse(x: number | null | undefined): string {
  return typeof x === "number" && Number.isFinite(x) ? x.toFixed(4) : "-";
}

/** Per-training bookkeeping shared by both modes. */
class Track {
  start: StartEvent | null = null;
  readonly t0 = Date.now() / 1000;

  /** Seconds left, from the mean epoch time so far (plain) or the batch rate (bars). */
  etaAfterEpoch(ev: EpochEvent): number {
    const began = this.start?.t ?? this.t0;
    return ((ev.t - began) / ev.epoch) * (ev.max_epochs - ev.epoch);
  }

  epochLine(c: Colors, ev: EpochEvent): string {
    const best = ev.best_epoch === ev.epoch ? c.green(" *best") : "";
    const left = ev.epoch < ev.max_epochs ? ` · ETA ${clock(this.etaAfterEpoch(ev))}` : "";
    return `  ${c.dim(ev.run)} epoch ${ev.epoch}/${ev.max_epochs} · train ${mse(ev.train_mse)} · val ${mse(ev.val_mse)}${best} · ${ev.seconds.toFixed(1)}s${left}`;
  }

  endLine(c: Colors, ev: EndEvent): string {
    const took = clock(ev.t - (this.start?.t ?? this.t0));
    if (ev.status === "ok") {
      return `  ${c.dim(ev.run)} ${c.green("done")}: val ${mse(ev.val_mse)} at epoch ${ev.best_epoch ?? "-"} of ${ev.epochs_run ?? "-"} · ${took}`;
    }
    return `  ${c.dim(ev.run)} ${c.red(ev.status)}: ${ev.reason ?? "no reason given"} · ${took}`;
  }

  startLine(c: Colors, ev: StartEvent): string {
    const params = typeof ev.n_params === "number" ? `, ${ev.n_params.toLocaleString("en-US")} params` : "";
    return `  ${c.dim(ev.run)} training: up to ${ev.max_epochs} epochs of ${ev.batches} batches${params} on ${ev.device ?? "?"}`;
  }

  /** stdout is train.py's human log, which the events carry too; stderr has notices and errors. */
  showLine(stream: "stdout" | "stderr"): boolean {
    return stream === "stderr";
  }
}

/** Plain lines: the start, each epoch, the end; batch events are dropped. */
export class PlainRenderer implements Renderer {
  constructor(
    private readonly write: (line: string) => void,
    private readonly c: Colors,
  ) {}

  log(line: string): void {
    this.write(line);
  }

  training(runId: string): TrainingView {
    const tr = new Track();
    return {
      event: (ev) => {
        if (ev.event === "start") {
          tr.start = ev;
          this.write(tr.startLine(this.c, ev));
        } else if (ev.event === "epoch") this.write(tr.epochLine(this.c, ev));
        else if (ev.event === "end") this.write(tr.endLine(this.c, ev));
      },
      line: (text, stream) => {
        if (tr.showLine(stream) && text.trim()) this.write(`  ${this.c.dim(`[${runId}]`)} ${text}`);
      },
      end: () => {},
    };
  }
}

interface BarPayload {
  run: string;
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  train: number | null;
  val: number | null;
}

/** Live bars, one per training in flight, on an interactive stream. */
export class BarRenderer implements Renderer {
  private multi: MultiBar | null = null;
  private live = 0;

  constructor(
    private readonly cp: typeof import("cli-progress"),
    private readonly stream: NodeJS.WriteStream,
    private readonly c: Colors,
  ) {}

  log(line: string): void {
    if (this.multi) this.multi.log(line + "\n");
    else this.stream.write(line + "\n");
  }

  private open(): MultiBar {
    if (this.multi) return this.multi;
    const { cp, c } = this;
    const options: BarOptions = {
      stream: this.stream,
      hideCursor: true,
      clearOnComplete: true,
      gracefulExit: false, // our own SIGINT handler stops the trainings; views end, bars close
      autopadding: true,
      barsize: 20,
      fps: 8,
      format: (opts: BarOptions, params: BarParams, p: BarPayload) => {
        const done = params.value > 0 && params.total > 0;
        const elapsed = (Date.now() - params.startTime) / 1000;
        const eta = done ? (elapsed * (params.total - params.value)) / params.value : NaN;
        const bar = cp.Format.BarFormat(params.progress, opts);
        return `  ${c.cyan(p.run)} ${bar} epoch ${p.epoch}/${p.epochs} · batch ${p.batch}/${p.batches} · train ${mse(p.train)} · val ${mse(p.val)} · ETA ${clock(eta)}`;
      },
    };
    this.multi = new cp.MultiBar(options, cp.Presets.shades_classic);
    return this.multi;
  }

  private close(): void {
    if (!this.multi || this.live > 0) return;
    this.multi.update(); // flush logged lines
    this.multi.stop();
    this.multi = null;
  }

  training(runId: string): TrainingView {
    const tr = new Track();
    let bar: SingleBar | null = null;
    const payload: BarPayload = { run: runId, epoch: 0, epochs: 0, batch: 0, batches: 0, train: null, val: null };
    const finish = () => {
      if (!bar) return;
      this.multi?.remove(bar);
      bar = null;
      this.live -= 1;
      this.close();
    };
    return {
      event: (ev) => {
        if (ev.event === "start") {
          tr.start = ev;
          this.log(tr.startLine(this.c, ev));
          Object.assign(payload, { epoch: 1, epochs: ev.max_epochs, batches: ev.batches });
          if (!bar) {
            this.live += 1;
            bar = this.open().create(Math.max(1, ev.max_epochs * ev.batches), 0, payload);
          }
        } else if (ev.event === "batch") {
          Object.assign(payload, { epoch: ev.epoch, batch: ev.batch, batches: ev.batches });
          bar?.update((ev.epoch - 1) * ev.batches + ev.batch, payload);
        } else if (ev.event === "epoch") {
          Object.assign(payload, { epoch: ev.epoch, batch: payload.batches, train: ev.train_mse, val: ev.val_mse });
          bar?.update(ev.epoch * payload.batches, payload);
          this.log(tr.epochLine(this.c, ev));
        } else {
          this.log(tr.endLine(this.c, ev));
          finish();
        }
      },
      line: (text, stream) => {
        if (tr.showLine(stream) && text.trim()) this.log(`  ${this.c.dim(`[${runId}]`)} ${text}`);
      },
      end: finish,
    };
  }
}
