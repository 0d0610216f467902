/**
 * Stand-in interpreters (NAS_PYTHON) that reach failure paths a real training never shows on
 * demand; everything they do not intercept runs the project's own Python.
 */
import fs from "node:fs";
import path from "node:path";
import { REPO } from "./workspace.js";

/** The trainings with `--seed` in `seeds` write their config snapshot (train.py's first output), then die as an OOM would. */
export function crashingPython(dir: string, seeds: number[]): string {
  const file = path.join(dir, "oom-python");
  const match = seeds.map((s) => `"$seed" = "${s}"`).join(" -o ");
  fs.writeFileSync(file, `#!/usr/bin/env bash
cfg=""; tag=""; seed=""; prev=""
for a in "$@"; do case "$prev" in --config) cfg="$a";; --tag) tag="$a";; --seed) seed="$a";; esac; prev="$a"; done
if [ ${match} ]; then mkdir -p "runs/$tag" && cp "$cfg" "runs/$tag/config_used.py"; echo "RuntimeError: CUDA out of memory (simulated)" >&2; exit 1; fi
exec "${path.join(REPO, ".venv", "bin", "python")}" "$@"
`, { mode: 0o755 });
  return file;
}
