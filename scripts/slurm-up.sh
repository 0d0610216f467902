#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for the tests of `--executor slurm` (idempotent).
#
# Installs Debian's slurmctld, slurmd and slurm-client when missing (as root, apt-get,
# --no-install-recommends), writes a one-node slurm.conf into $NAS_SLURM_DIR (default
# /tmp/nas-graph-slurm): auth/none and cred/none (no munge daemon), no cgroups, no database;
# starts slurmctld and slurmd and waits until `sinfo` shows the node idle. A cluster already
# up from the same folder is reused. The tests find it through $NAS_SLURM_DIR/slurm.conf
# (or SLURM_CONF). Stop it with scripts/slurm-down.sh.
set -euo pipefail

DIR="${NAS_SLURM_DIR:-/tmp/nas-graph-slurm}"
CONF="$DIR/slurm.conf"
export SLURM_CONF="$CONF"
say() { echo "slurm-up: $*" >&2; }

alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

idle() { sinfo -h -o '%t' 2>/dev/null | grep -qx 'idle'; }

if [ -f "$CONF" ] && alive "$DIR/slurmctld.pid" && alive "$DIR/slurmd.pid" && idle; then
  say "already up (SLURM_CONF=$CONF)"
  echo "$CONF"
  exit 0
fi

missing=0
for bin in slurmctld slurmd sbatch squeue scontrol scancel sinfo; do
  command -v "$bin" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin" command -v "$bin" >/dev/null 2>&1 || missing=1
done
if [ "$missing" = 1 ]; then
  if [ "$(id -u)" != 0 ]; then
    say "Slurm is not installed and this is not root; install slurmctld slurmd slurm-client (apt-get) or run as root"
    exit 2
  fi
  say "installing slurmctld slurmd slurm-client (apt-get)"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client >/dev/null
fi
export PATH="$PATH:/usr/sbin:/sbin"

# A half-started cluster from an earlier try: stop it first.
bash "$(dirname "$0")/slurm-down.sh" >/dev/null 2>&1 || true

HOST="$(hostname -s)"
CPUS="$(nproc)"
mkdir -p "$DIR/state" "$DIR/spool"
cat > "$CONF" <<CONF
# one-node test cluster written by scripts/slurm-up.sh
ClusterName=nasgraph
SlurmctldHost=${HOST}(127.0.0.1)
SlurmctldPort=6817
SlurmdPort=6818
AuthType=auth/none
CredType=cred/none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SlurmUser=root
SlurmdUser=root
ReturnToService=2
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
NodeName=${HOST} NodeAddr=127.0.0.1 CPUs=${CPUS} RealMemory=4000 State=UNKNOWN
PartitionName=debug Nodes=${HOST} Default=YES MaxTime=INFINITE State=UP
CONF

slurmctld -c -f "$CONF"
slurmd -f "$CONF"
for _ in $(seq 1 60); do
  if idle; then
    say "up: one node ${HOST} (${CPUS} CPUs), SLURM_CONF=$CONF"
    echo "$CONF"
    exit 0
  fi
  sleep 0.5
done
say "the node did not become idle within 30 s; see $DIR/slurmctld.log and $DIR/slurmd.log"
sinfo >&2 || true
exit 1
