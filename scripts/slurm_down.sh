#!/usr/bin/env bash
# Stop the test cluster of `scripts/slurm_up.sh`: only the daemons it started (pids recorded in
# $STATE/pids), in an order that never leaves a job behind a deaf slurmd: cancel every job and
# wait for an empty queue, then slurmd, slurmctld, slurmdbd, MariaDB, munged. Idempotent.
set -uo pipefail

STATE="${GAN_SLURM_DIR:-/tmp/gan-slurm}"
export SLURM_CONF="$STATE/slurm.conf"
log() { echo "slurm_down: $*"; }

[ -d "$STATE/pids" ] || {
    log "nothing started by slurm_up.sh (no $STATE/pids)"
    exit 0
}

# stop NAME: TERM the recorded pid, wait up to 30 s, then KILL
stop() {
    local f="$STATE/pids/$1" pid
    [ -s "$f" ] || return 0
    pid="$(cat "$f")"
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 60); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "$1 ($pid) ignored SIGTERM for 30 s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null
        fi
        log "$1 stopped"
    fi
    rm -f "$f"
}

if [ -s "$STATE/pids/slurmctld" ] && timeout 10 scontrol ping >/dev/null 2>&1; then
    jobs="$(timeout 10 squeue -h -o %A 2>/dev/null || true)"
    if [ -n "$jobs" ]; then
        log "cancelling jobs: $(echo "$jobs" | tr '\n' ' ')"
        # shellcheck disable=SC2086
        timeout 10 scancel $jobs 2>/dev/null || true
        for _ in $(seq 60); do
            [ -z "$(timeout 10 squeue -h -o %A 2>/dev/null)" ] && break
            sleep 1
        done
    fi
fi

stop slurmd
stop slurmctld
stop slurmdbd
stop mariadb
stop munged
if [ -s "$STATE/pids/conf-link" ]; then
    link="$(cat "$STATE/pids/conf-link")"
    [ -L "$link" ] && rm -f "$link"
    rm -f "$STATE/pids/conf-link"
fi
log "done"
