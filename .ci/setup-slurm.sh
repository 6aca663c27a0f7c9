#!/usr/bin/env bash
# A one-node Slurm cluster on 127.0.0.1 for .ci/check-slurm.sh: installs Debian's
# slurm-wlm and munge, writes a minimal slurm.conf, and starts munged, slurmctld -D
# and slurmd -D in the background (no systemd). Idempotent: running daemons are
# reused. Logs: /var/log/wormsim-ci-slurm/.
set -euo pipefail

if ! command -v sbatch >/dev/null || ! command -v slurmctld >/dev/null \
    || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
    echo "installing slurm-wlm and munge"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        slurm-wlm munge >/dev/null
fi

LOG=/var/log/wormsim-ci-slurm
mkdir -p "$LOG"

# munge: a key, its runtime directory, and the daemon (as the munge user).
if [ ! -s /etc/munge/munge.key ]; then
    if command -v mungekey >/dev/null; then
        mungekey --create --keyfile=/etc/munge/munge.key --force
    else
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    fi
fi
chown munge:munge /etc/munge/munge.key
chmod 0400 /etc/munge/munge.key
install -d -o munge -g munge -m 0755 /run/munge
install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge
if ! munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
    runuser -u munge -- /usr/sbin/munged --force
    for _ in $(seq 50); do
        munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1 && break
        sleep 0.1
    done
fi
munge -n </dev/null | unmunge >/dev/null

# slurm.conf: this host as controller and only node, addressed on loopback.
NODE=$(hostname -s)
CPUS=$(nproc)
MEM_MB=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd
CONF=/etc/slurm/slurm.conf
NEW=$(mktemp)
cat >"$NEW" <<CONF
# Written by wormsim's .ci/setup-slurm.sh: a one-node test cluster on 127.0.0.1.
ClusterName=wormsim-ci
SlurmctldHost=${NODE}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=${LOG}/slurmctld.log
SlurmdLogFile=${LOG}/slurmd.log
SlurmctldTimeout=30
SlurmdTimeout=30
MinJobAge=600
NodeName=${NODE} NodeAddr=127.0.0.1 CPUs=${CPUS} RealMemory=${MEM_MB} State=UNKNOWN
PartitionName=ci Nodes=${NODE} Default=YES MaxTime=INFINITE State=UP
CONF
restart=0
if ! cmp -s "$NEW" "$CONF"; then
    mv "$NEW" "$CONF"
    restart=1
else
    rm -f "$NEW"
fi
chmod 0644 "$CONF"

running() { pgrep -x "$1" >/dev/null; }
if [ "$restart" = 1 ]; then
    # A changed configuration needs fresh daemons (only ours: identified by pid file).
    for pidfile in /run/slurmd.pid /run/slurmctld.pid; do
        if [ -s "$pidfile" ]; then
            kill "$(cat "$pidfile")" 2>/dev/null || true
        fi
    done
    for _ in $(seq 50); do
        running slurmctld || running slurmd || break
        sleep 0.1
    done
fi
if ! running slurmctld; then
    setsid nohup slurmctld -D -i >>"$LOG/slurmctld.out" 2>&1 </dev/null &
fi
for _ in $(seq 100); do
    scontrol ping 2>/dev/null | grep -q 'is UP' && break
    sleep 0.2
done
if ! running slurmd; then
    setsid nohup slurmd -D >>"$LOG/slurmd.out" 2>&1 </dev/null &
fi

# Wait until the node takes jobs.
for _ in $(seq 150); do
    state=$(sinfo -h -n "$NODE" -o %T 2>/dev/null | head -1 || true)
    case "$state" in
        idle* | mixed* | allocated*) break ;;
        down* | drain*) scontrol update NodeName="$NODE" State=RESUME 2>/dev/null || true ;;
    esac
    sleep 0.2
done
sinfo
state=$(sinfo -h -n "$NODE" -o %T | head -1)
case "$state" in
    idle* | mixed* | allocated*) echo "slurm: node $NODE is $state" ;;
    *)
        echo "slurm: node $NODE did not come up (state: ${state:-unknown})" >&2
        tail -n 30 "$LOG"/*.log "$LOG"/*.out >&2 || true
        exit 1
        ;;
esac
