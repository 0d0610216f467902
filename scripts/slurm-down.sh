#!/usr/bin/env bash
# Stop the one-node test cluster of scripts/slurm-up.sh (idempotent): slurmd, then slurmctld,
# by the pids in their pid files. The folder ($NAS_SLURM_DIR, default /tmp/nas-graph-slurm)
# keeps the logs; slurm-up.sh starts from a clean job state.
set -uo pipefail
DIR="${NAS_SLURM_DIR:-/tmp/nas-graph-slurm}"

stop() {
  local pidfile="$DIR/$1.pid"
  [ -s "$pidfile" ] || return 0
  local pid
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null && grep -q "$1" "/proc/$pid/cmdline" 2>/dev/null; then
    kill "$pid" 2>/dev/null
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
  fi
  rm -f "$pidfile"
  echo "slurm-down: stopped $1" >&2
}

stop slurmd
stop slurmctld
exit 0
