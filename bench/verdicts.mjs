// Monte Carlo of the noise verdict, driving the real code: the Python statistics
// (nas_agent.config_stats: config_table + noise_table, as record-run computes them) and the
// compiled TypeScript rule (dist/evaluation/noise.js: noiseVerdict, as the evaluator calls it).
// Synthetic val MSE per seed: a true mean per config with relative seed noise (lognormal by
// default: MSEs over seeds are positive and right-skewed, e.g. 0.172, 0.171, 0.218 on an H200;
// "normal" draws mean * (1 + rel * z), floored at 5% of the mean, for comparison), an incumbent
// baseline of 3 seeds (the default --baseline-seeds) and one candidate, repeated while the rule
// says "repeat" and repeats are left. "open" (promising, unconfirmed) is not an accept.
// The Python side is called once per look over all trials of a case (batched), so a case of
// N verdicts costs at most 1 + max_repeats Python calls.
// Usage: npm run build && node bench/verdicts.mjs [N=20000] [fa|all] [lognormal|normal] [same|cross] > bench/results/verdicts.txt
// ("cross": the candidate is of another model family than the incumbent, so each has its own
// noise pool, e.g. an NLinear proposal against a DLinear incumbent, as a portfolio makes them)
// ("fa": only the false-accept cases, gain 0 with the defaults; about 1.5 min per case of 20,000
// on the loaded 2-core dev machine, so the full table of 24 cases takes ~35 min at N=20000)
import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_NOISE, noiseVerdict } from "../dist/evaluation/noise.js";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const PY = process.env.NAS_PYTHON ?? path.join(REPO, ".venv", "bin", "python");
const N = Number(process.argv[2] ?? 20000);
const FA_ONLY = process.argv[3] === "fa";
const INC_MEAN = 0.9; // level does not matter to a relative rule; ETTh1-like

const STATS = `
import json, sys
CAND_FAMILY = sys.argv[1]
from types import SimpleNamespace as R
from nas_agent.config_stats import config_table, noise_table
out = []
for inc, cand in json.load(sys.stdin):
    runs = [R(run_id=f"i{k}", config_id="inc", fidelity="f", family="informer", status="ok", val_mse=v,
              test_mse=None, seed=k, accepted=True, kind="baseline", repeat_of=None if k == 0 else "i0", step_type="baseline")
            for k, v in enumerate(inc)]
    runs += [R(run_id=f"c{k}", config_id="cand", fidelity="f", family=CAND_FAMILY, status="ok", val_mse=v,
               test_mse=None, seed=100 + k, accepted=False, kind="proposal" if k == 0 else "repeat",
               repeat_of=None if k == 0 else "c0", step_type="small") for k, v in enumerate(cand)]
    table = config_table(runs)
    noise_table(table)
    out.append([{"root_run_id": c.root_run_id, "val_values": c.val_values, "n": c.n, "val_mean": c.val_mean,
                 "val_sd": c.val_sd, "noise_sd": c.noise_sd, "noise_source": c.noise_source,
                 "noise_dof": c.noise_dof, "noise_pool": c.noise_pool, "family": c.family} for c in table])
json.dump(out, sys.stdout)
`;

// seeded normal draws (mulberry32 + Box-Muller), so a rerun gives the same figures
let s = 12345;
const rand = () => { s |= 0; s = (s + 0x6d2b79f5) | 0; let t = Math.imul(s ^ (s >>> 15), 1 | s); t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t; return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
const normal = () => Math.sqrt(-2 * Math.log(rand() || 1e-300)) * Math.cos(2 * Math.PI * rand());
const DIST = process.argv[4] ?? "lognormal";
const CROSS = process.argv[5] === "cross";
if (DIST !== "lognormal" && DIST !== "normal") throw new Error(`unknown noise distribution ${DIST}: use lognormal or normal`);
// lognormal with the given relative sd and the given mean: sigma^2 = ln(1 + rel^2), mu = -sigma^2 / 2
const draw = (mean, rel) => {
  if (DIST === "normal") return mean * Math.max(0.05, 1 + rel * normal());
  const sigma = Math.sqrt(Math.log(1 + rel * rel));
  return mean * Math.exp(-sigma * sigma / 2 + sigma * normal());
};

function stats(batch) {
  const out = execFileSync(PY, ["-c", STATS, CROSS ? "dlinear" : "informer"], {
    input: JSON.stringify(batch), maxBuffer: 1 << 30, env: { ...process.env, PYTHONPATH: path.join(REPO, "nas_system") },
  });
  return JSON.parse(out.toString());
}

function runCase(rel, gain, maxRepeats) {
  const o = { ...DEFAULT_NOISE, maxLooks: 1 + maxRepeats };
  const candMean = INC_MEAN * (1 - gain);
  const trials = Array.from({ length: N }, () => ({
    inc: [0, 1, 2].map(() => draw(INC_MEAN, rel)), cand: [draw(candMean, rel)], done: null,
  }));
  let open = trials;
  for (let look = 1; open.length > 0; look++) {
    const ev = stats(open.map((t) => [t.inc, t.cand]));
    const again = [];
    open.forEach((t, i) => {
      const [inc, cand] = ev[i];
      const v = noiseVerdict(cand, inc, o, maxRepeats - (look - 1), []);
      if (v.decision === "repeat") { t.cand.push(draw(candMean, rel)); again.push(t); } else t.done = v.decision;
    });
    open = again;
  }
  const acc = trials.filter((t) => t.done === "accept").length / N;
  const prom = trials.filter((t) => t.done === "open").length / N;
  const trainings = trials.reduce((a, t) => a + t.cand.length, 0) / N;
  return { acc, prom, trainings };
}

const started = Date.now();
console.log(`verdicts: ${N} verdicts per case; ${DIST} seed noise; ${CROSS ? "candidate of another family (its own noise pool)" : "one family"}; incumbent 3 seeds; alpha ${DEFAULT_NOISE.alpha}; candidate trainings per verdict`);
console.log("max_repeats  noise  gain   accepted  promising  trainings");
for (const maxRepeats of FA_ONLY ? [2] : [2, 0]) {
  for (const rel of [0.1, 0.2, 0.3]) {
    for (const gain of FA_ONLY ? [0] : [0, 0.05, 0.1, 0.2]) {
      const r = runCase(rel, gain, maxRepeats);
      console.log(`${String(maxRepeats).padStart(11)}  ${(rel * 100).toFixed(0).padStart(4)}%  ${(gain * 100).toFixed(0).padStart(3)}%  ${(r.acc * 100).toFixed(2).padStart(7)}%  ${(r.prom * 100).toFixed(2).padStart(8)}%  ${r.trainings.toFixed(2).padStart(9)}`);
    }
  }
}
console.log(`(${((Date.now() - started) / 1000).toFixed(0)} s)`);
