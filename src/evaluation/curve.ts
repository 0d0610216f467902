/**
 * Overfitting and convergence, read from the validation curve of one run (history.json).
 *
 * Why not the train/val ratio (the seed's rule 3): on ETTh1 the splits differ in scale.
 * After scaling on the train rows, OT's variance is 1.000 over the train rows, 0.277 over
 * the val rows and 0.128 over the test rows. A plain 96-step persistence forecast (repeat the
 * last input value, seq_len 336) scores MSE 0.231 on the train windows and 0.137 on the val
 * windows: a 69% train/val "gap" with no overfitting at all (and train_mse is measured with
 * dropout on). So the checks below never compare train with val; they read val alone:
 *   - rise: how far val_mse rose after its best epoch (max after the best, in % of the best);
 *   - early peak: the best epoch relative to the epochs run, when early stopping fired.
 * The reported val_mse is the best epoch's (its checkpoint is restored), so these flags do not
 * make a run worse; they say its gain is fragile (see noise.ts and rules.ts for their use).
 */
import type { CurveSignals } from "../contracts.js";

export interface HistoryFile {
  best_epoch?: number;
  epochs?: Array<{ epoch?: number; val_mse?: number | null }>;
}

/** Signals of one run's val curve; null when the history has no finite val_mse. */
export function curveSignals(history: HistoryFile | null, meta: { max_epochs?: number; stopped_early?: boolean }): CurveSignals | null {
  const vals = (history?.epochs ?? []).map((e) => (typeof e.val_mse === "number" && Number.isFinite(e.val_mse) ? e.val_mse : null));
  const finite = vals.filter((v): v is number => v !== null);
  if (finite.length === 0) return null;
  const best = Math.min(...finite);
  const bestIndex = vals.indexOf(best);
  const after = vals.slice(bestIndex + 1).filter((v): v is number => v !== null);
  const rise = after.length > 0 && best > 0 ? ((Math.max(...after) - best) / best) * 100 : 0;
  return {
    best_epoch: bestIndex + 1,
    epochs_run: vals.length,
    max_epochs: meta.max_epochs ?? vals.length,
    stopped_early: Boolean(meta.stopped_early),
    rise_pct: rise,
  };
}

/**
 * Warnings about a curve, each one line:
 *   - overfitting: val_mse rose more than maxRisePct after its best epoch;
 *   - early peak: early stopping fired and the best epoch came in the first third of the epochs run.
 */
export function curveFlags(c: CurveSignals | null, maxRisePct: number): string[] {
  if (c === null) return [];
  const flags: string[] = [];
  if (c.rise_pct > maxRisePct) {
    flags.push(`val_mse rose ${c.rise_pct.toFixed(0)}% after its best epoch ${c.best_epoch} (overfitting or instability)`);
  }
  if (c.stopped_early && c.epochs_run >= 3 && c.best_epoch <= c.epochs_run / 3) {
    flags.push(`val_mse peaked early, at epoch ${c.best_epoch} of ${c.epochs_run}, then early stopping fired`);
  }
  return flags;
}
