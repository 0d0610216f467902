#!/usr/bin/env node
/**
 * nas-graph CLI. Commands are imported lazily so `--help` stays fast (no langgraph, openai or
 * execa load). This is the only place that calls process.exit and the one error handler:
 * UserError -> `error: <message>` and its exit code; anything else -> `internal error: ...`, 1.
 */
import { Command, InvalidArgumentError } from "commander";
import dotenv from "dotenv";
import { PLANNER_NAMES } from "./planners/names.js";
import { RUN_DEFAULTS } from "./run-defaults.js";
import { UserError, oneLine } from "./errors.js";

const DEFAULT_DIR = "./nas_system";
const PLANNERS = PLANNER_NAMES.join(" | ");
/** The demo has no mock script to replay. */
const DEMO_PLANNERS = PLANNER_NAMES.filter((p) => p !== "mock").join(" | ");

function num(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === "" || !Number.isFinite(n)) throw new InvalidArgumentError(`${flag} takes a number`);
    return n;
  };
}

function int(flag: string) {
  return (v: string): number => {
    const n = num(flag)(v);
    if (!Number.isInteger(n)) throw new InvalidArgumentError(`${flag} takes an integer`);
    return n;
  };
}

/** The samplers' seed: numpy and Optuna take 0 <= seed < 2**32. */
const MAX_SEED = 2 ** 32 - 1;

function seedArg(v: string): number {
  const n = Number(v);
  if (v.trim() === "" || !Number.isInteger(n) || n < 0 || n > MAX_SEED) {
    throw new InvalidArgumentError(`--seed takes an integer from 0 to ${MAX_SEED}`);
  }
  return n;
}

function program(): Command {
  const p = new Command("nas-graph")
    .description("LLM-driven configuration search for an Informer forecaster (LangGraph.js loop over nas_system/train.py)")
    .version("0.1.0")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride(); // before the subcommands, so they inherit it: errors reach main()

  p.command("run")
    .description("start a new search")
    .option("--system-dir <dir>", "workspace with config.py and train.py", DEFAULT_DIR)
    .option("--max-iterations <n>", "trainings in this search, baseline seeds and repeats included", int("--max-iterations"), RUN_DEFAULTS.maxIterations)
    .option("--planner <name>", `${PLANNERS} (default: llm with OPENROUTER_API_KEY, else optuna)`)
    .option("--mock-file <file>", "JSON list of planner decisions for --planner mock")
    .option("--evaluator <mode>", "llm | rules (default: llm with OPENROUTER_API_KEY, else rules)")
    .option("--target-val-mse <x>", "stop once the best val_mse is below this", num("--target-val-mse"))
    .option("--max-epochs <n>", "cap the epochs of every training", int("--max-epochs"))
    .option("--run-timeout <seconds>", "stop a training after this many seconds (status timeout)", num("--run-timeout"))
    .option("--review", "pause after each evaluation for a human verdict (answer with resume --accept/--reject)")
    .option("--seed <n>", "seed for the optuna/random planners", seedArg)
    .option("--max-cost-usd <x>", "stop (resumable) before an LLM call that could pass this total cost", num("--max-cost-usd"))
    .option("--max-llm-failures <n>", `stop (resumable) after this many LLM planner rounds in a row without an answer (each falls back to optuna) (default ${RUN_DEFAULTS.maxLlmFailures})`, int("--max-llm-failures"))
    .option("--parallel <k>", "trainings in flight at once (a round trains up to K trials)", int("--parallel"), RUN_DEFAULTS.parallel)
    .option("--executor <kind>", "where trainings run: local (train.py children) | slurm (one sbatch job each)", RUN_DEFAULTS.executor)
    .option("--gpus <ids>", "local: GPUs to spread trainings over, e.g. 0,1 (default: CUDA_VISIBLE_DEVICES)")
    .option("--slurm-partition <name>", "slurm: sbatch --partition (default: NAS_SLURM_PARTITION)")
    .option("--slurm-gres <gres>", "slurm: sbatch --gres, e.g. gpu:1 (default: NAS_SLURM_GRES)")
    .option("--slurm-time <limit>", "slurm: sbatch --time, e.g. 2:00:00 (default: NAS_SLURM_TIME)")
    .option("--slurm-args <args>", "slurm: extra sbatch arguments (default: NAS_SLURM_ARGS)")
    .option("--slurm-poll <seconds>", "slurm: seconds between job polls (default: NAS_SLURM_POLL_S, else 5)", num("--slurm-poll"))
    .option("--acceptance <rule>", "noise: means over seeds against the measured seed noise; fixed: the seed's percent rules on single runs", RUN_DEFAULTS.acceptance)
    .option("--baseline-seeds <n>", `seeds of the baseline config, to measure the seed noise (default ${RUN_DEFAULTS.baselineSeeds}; 1 when the noise is already measured, or with --acceptance fixed)`, int("--baseline-seeds"))
    .option("--max-repeats <n>", "extra seeds a candidate inside the noise margin may get before its verdict", int("--max-repeats"), RUN_DEFAULTS.maxRepeats)
    .option("--portfolio <on|off>", "after the baseline, first propose each model family at its published recipe (search_space.json recipes)", RUN_DEFAULTS.portfolio)
    .option("--alpha <a>", "false-accept rate of the noise test: how often a config no better than the incumbent may be accepted, over all its repeats (a one-sided t test on the pooled seed noise)", num("--alpha"), RUN_DEFAULTS.alpha)
    .option("--default-rel-sd <x>", "relative sd of val_mse assumed when no seed spread was measured", num("--default-rel-sd"), RUN_DEFAULTS.defaultRelSd)
    .option("--max-rise <pct>", "flag (noise) or reject (fixed) a run whose val_mse rose more than this % after its best epoch", num("--max-rise"), RUN_DEFAULTS.maxRise)
    .option("--accept-above <pct>", "fixed rules: accept when val_mse improves by more than this %", num("--accept-above"), RUN_DEFAULTS.acceptAbove)
    .option("--reject-below <pct>", "fixed rules: reject when val_mse changes by less than this % (a regression)", num("--reject-below"), RUN_DEFAULTS.rejectBelow)
    .option("--min-best-epoch <n>", "fixed rules: reject when the best epoch is below this", int("--min-best-epoch"), RUN_DEFAULTS.minBestEpoch)
    .option("--json", "print a final JSON summary on stdout")
    .action(async (opts) => {
      (await import("./python.js")).warmAgent(process.env); // the helper starts while the graph modules load
      return (await import("./commands/run.js")).runCommand(opts);
    });

  p.command("demo")
    .description("create a small CPU-sized workspace and run a whole search on it (minutes, no GPU, no API key), then write its report")
    .option("--dir <dir>", "where to create the demo workspace (must not exist or be empty)", "./nas-demo")
    // 8 trainings: room for 3 baseline seeds (the noise measurement) and 5 proposals
    .option("--max-iterations <n>", "trainings in the demo search", int("--max-iterations"), 8)
    .option("--max-epochs <n>", "cap the epochs of every training (the demo config has 3)", int("--max-epochs"))
    .option("--planner <name>", DEMO_PLANNERS, "optuna")
    .option("--json", "print a final JSON summary (search and report paths) on stdout")
    .action(async (opts) => (await import("./commands/demo.js")).demoCommand(opts));

  p.command("resume")
    .description("continue the last search where it stopped, or answer its review pause")
    .option("--system-dir <dir>", "workspace with config.py and train.py", DEFAULT_DIR)
    .option("--accept", "answer a review pause: accept the run")
    .option("--reject", "answer a review pause: reject the run")
    .option("--repeat", "answer a review pause: train the run's config again with a new seed before its verdict")
    .option("--max-iterations <n>", "raise the training budget of a finished search (in all, this search's trainings so far included); promising configs get another seed first", int("--max-iterations"))
    .option("--max-cost-usd <x>", "set a new LLM cost cap for the rest of the search", num("--max-cost-usd"))
    .option("--max-llm-failures <n>", "set a new limit of LLM planner rounds in a row without an answer for the rest of the search", int("--max-llm-failures"))
    .option("--planner <name>", `switch the planner for the rest of the search: ${PLANNERS}`)
    .option("--mock-file <file>", "JSON list of planner decisions for --planner mock")
    .option("--evaluator <mode>", "switch the evaluator for the rest of the search: llm | rules")
    .option("--json", "print a final JSON summary on stdout")
    .action(async (opts) => {
      (await import("./python.js")).warmAgent(process.env);
      return (await import("./commands/resume.js")).resumeCommand(opts);
    });

  p.command("status")
    .description("show the runs, the best run and its config, LLM usage")
    .option("--system-dir <dir>", "workspace", DEFAULT_DIR)
    .option("--json", "print the status as JSON")
    .option("--fidelity <n>", "the fidelity shown: an epoch cap N or a recorded fidelity key (default: the current one)")
    .action(async (opts) => (await import("./commands/status.js")).statusCommand(opts));

  p.command("report")
    .description("write runs/report.html (self-contained, with plots) and runs/report.md")
    .option("--system-dir <dir>", "workspace", DEFAULT_DIR)
    .option("--target-val-mse <x>", "draw this target line (default: the last search's target)", num("--target-val-mse"))
    .option("--json", "print the written paths as JSON")
    .option("--fidelity <n>", "the fidelity shown: an epoch cap N or a recorded fidelity key (default: the current one)")
    .action(async (opts) => (await import("./commands/report.js")).reportCommand(opts));

  p.command("ensemble")
    .description("the final model: weight the current fidelity's runs by greedy selection on val MSE (held-out test MSE reported), record it")
    .option("--system-dir <dir>", "workspace", DEFAULT_DIR)
    .option("--forecast-csv <path>", "write the ensemble's forecast of the test split here as CSV (date, forecast, actual; the data file's units)")
    .option("--steps <n>", "most additions of the greedy selection (default 50; it stops earlier when none helps)", int("--steps"))
    .option("--json", "print the ensemble as JSON")
    .action(async (opts) => (await import("./commands/ensemble.js")).ensembleCommand(opts));

  p.command("override")
    .description("accept or reject a run by hand; config.py follows the best run")
    .argument("<run_id>", "e.g. run_0003")
    .option("--system-dir <dir>", "workspace", DEFAULT_DIR)
    .option("--accept", "accept the run")
    .option("--reject", "reject the run")
    .option("--reason <text>", "why (recorded in agent_state.json)")
    .option("--json", "print the result as JSON")
    .action(async (runId: string, opts) => (await import("./commands/override.js")).overrideCommand(runId, opts));

  p.command("rebuild")
    .description("reconstruct a lost or corrupt agent_state.json from runs/*/ and the decision log (the old file is moved aside)")
    .option("--system-dir <dir>", "workspace", DEFAULT_DIR)
    .option("--force", "rebuild even when agent_state.json is readable")
    .option("--json", "print the outcome as JSON")
    .action(async (opts) => (await import("./commands/rebuild.js")).rebuildCommand(opts));

  p.command("graph")
    .description("print the search graph as Mermaid (paste into a Markdown file or mermaid.live)")
    .option("--json", "print {nodes, edges, mermaid} as JSON")
    .action(async (opts) => (await import("./commands/graph.js")).graphCommand(opts));

  return p;
}

async function main(argv: string[]): Promise<number> {
  dotenv.config({ quiet: true });
  try {
    await program().parseAsync(argv);
    return 0;
  } catch (err) {
    return report(err);
  }
}

function report(err: unknown): number {
  const e = err as { code?: string; exitCode?: number };
  if (typeof e?.code === "string" && e.code.startsWith("commander.")) {
    // commander printed its own message; help and version exit 0, usage mistakes exit 2
    return e.exitCode === 0 ? 0 : 2;
  }
  if (err instanceof UserError) {
    process.stderr.write(`error: ${oneLine(err)}\n`);
    return err.exitCode;
  }
  process.stderr.write(`internal error: ${oneLine(err)} (rerun with NAS_DEBUG=1 for the stack)\n`);
  if (process.env.NAS_DEBUG) process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
  return 1;
}

main(process.argv).then((code) => process.exit(code));
