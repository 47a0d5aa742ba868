#!/usr/bin/env bash
# A real one-node SLURM cluster on this machine, for `nox -s slurm` (tests/test_slurm.py).
#
# Installs Debian's slurm-wlm, munge, slurmdbd and mariadb-server if missing, writes slurm.conf
# and slurmdbd.conf into a state folder, and starts munged, MariaDB, slurmdbd, slurmctld and
# slurmd without systemd. Accounting (slurmdbd + MariaDB) is not optional: without it `sacct`
# fails, submitit reads job states as UNKNOWN and never sees a job cancelled from outside end.
# Idempotent: what already runs is left alone. `scripts/slurm_down.sh` stops what this started
# (the pids it records under $STATE/pids). Needs root. Clients: export SLURM_CONF=$STATE/slurm.conf
# (also linked to /etc/slurm/slurm.conf when that is free).
set -euo pipefail

STATE="${GAN_SLURM_DIR:-/tmp/gan-slurm}"
CLUSTER=gan
DB_PORT="${GAN_SLURM_DB_PORT:-3307}"
DB_PASS=gan-slurm-test # a throwaway cluster reachable from 127.0.0.1 only
WAIT_S="${GAN_SLURM_WAIT_S:-90}"
export SLURM_CONF="$STATE/slurm.conf"

log() { echo "slurm_up: $*"; }
die() {
    echo "slurm_up: error: $*" >&2
    exit 1
}
alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
record() { echo "$2" >"$STATE/pids/$1"; } # started by us: slurm_down.sh stops it
wait_for() {                              # wait_for SECONDS WHAT COMMAND...
    local t=$1 what=$2
    shift 2
    for _ in $(seq "$((t * 2))"); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.5
    done
    die "$what did not come up within ${t}s (logs in $STATE)"
}

[ "$(id -u)" = 0 ] || die "run as root (it installs packages and starts daemons)"

need=()
for bin in slurmctld slurmd slurmdbd munged mariadbd sacctmgr sbatch; do
    command -v "$bin" >/dev/null || need+=("$bin")
done
if [ ${#need[@]} -gt 0 ]; then
    log "installing slurm-wlm munge slurmdbd mariadb-server (missing: ${need[*]})"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq slurm-wlm munge slurmdbd mariadb-server >/dev/null
fi

mkdir -p "$STATE"/{pids,ctld,d}
chmod 755 "$STATE"

# -- munge ------------------------------------------------------------------------------------
if ! munge -n </dev/null >/dev/null 2>&1; then
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge
    chmod 755 /run/munge
    if [ ! -s /etc/munge/munge.key ]; then
        mungekey --create --keyfile=/etc/munge/munge.key
        chown munge:munge /etc/munge/munge.key
        chmod 400 /etc/munge/munge.key
    fi
    runuser -u munge -- /usr/sbin/munged
    wait_for 20 munged bash -c 'munge -n </dev/null | unmunge'
    record munged "$(cat /run/munge/munged.pid)"
    log "munged up"
fi

# -- MariaDB: its own data folder, port and socket; pid and log files live in that folder --------
DB="$STATE/mysql"
SOCK="$DB/mysqld.sock"
if ! alive "$DB/mariadb.pid"; then
    if [ ! -d "$DB/mysql" ]; then
        mkdir -p "$DB"
        chown mysql:mysql "$DB"
        mariadb-install-db --user=mysql --datadir="$DB" --skip-test-db \
            --auth-root-authentication-method=socket >"$STATE/mariadb-install.log" 2>&1
    fi
    runuser -u mysql -- /usr/sbin/mariadbd --datadir="$DB" --socket="$SOCK" \
        --pid-file="$DB/mariadb.pid" --log-error="$DB/mariadb.log" \
        --port="$DB_PORT" --bind-address=127.0.0.1 >/dev/null 2>&1 &
    wait_for 60 MariaDB mariadb --socket="$SOCK" -u root -e "SELECT 1"
    record mariadb "$(cat "$DB/mariadb.pid")"
    log "MariaDB up on 127.0.0.1:$DB_PORT"
fi
mariadb --socket="$SOCK" -u root <<SQL
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$DB_PASS';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
SQL

# -- configuration ----------------------------------------------------------------------------
NODE_LINE="$(slurmd -C | head -n 1) NodeAddr=127.0.0.1 State=UNKNOWN"
NODE="$(echo "$NODE_LINE" | sed -E 's/^NodeName=([^ ]+).*/\1/')"
cat >"$STATE/slurm.conf" <<CONF
ClusterName=$CLUSTER
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=6817
SlurmdPort=6818
AuthType=auth/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
SwitchType=switch/none
MailProg=/bin/true
KillWait=5
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=6819
$NODE_LINE
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
CONF
cat >"$STATE/slurmdbd.conf" <<CONF
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=6819
SlurmUser=root
PidFile=$STATE/slurmdbd.pid
LogFile=$STATE/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=$DB_PASS
StorageLoc=slurm_acct_db
CONF
chmod 600 "$STATE/slurmdbd.conf"
if [ ! -e /etc/slurm/slurm.conf ]; then # plain `sinfo` finds the test cluster too
    mkdir -p /etc/slurm
    ln -s "$STATE/slurm.conf" /etc/slurm/slurm.conf
    echo /etc/slurm/slurm.conf >"$STATE/pids/conf-link"
fi

# -- daemons ----------------------------------------------------------------------------------
if ! alive "$STATE/slurmdbd.pid"; then
    slurmdbd # reads slurmdbd.conf beside $SLURM_CONF
    wait_for 30 slurmdbd sacctmgr -n list cluster
    record slurmdbd "$(cat "$STATE/slurmdbd.pid")"
    log "slurmdbd up"
fi
if ! sacctmgr -n -P list cluster format=cluster | grep -qx "$CLUSTER"; then
    sacctmgr -i add cluster "$CLUSTER" >/dev/null
fi
if ! alive "$STATE/slurmctld.pid"; then
    slurmctld -f "$SLURM_CONF"
    wait_for 30 slurmctld scontrol ping
    record slurmctld "$(cat "$STATE/slurmctld.pid")"
    log "slurmctld up"
fi
if ! alive "$STATE/slurmd.pid"; then
    slurmd -f "$SLURM_CONF"
    wait_for 30 slurmd test -s "$STATE/slurmd.pid"
    record slurmd "$(cat "$STATE/slurmd.pid")"
    log "slurmd up"
fi

node_idle() { sinfo -h -N -n "$NODE" -o %t | grep -qE '^(idle|mix|alloc)'; }
for _ in $(seq "$WAIT_S"); do
    node_idle && break
    if sinfo -h -N -n "$NODE" -o %t | grep -qE '^(down|drain|unk)'; then
        scontrol update nodename="$NODE" state=resume >/dev/null 2>&1 || true
    fi
    sleep 1
done
node_idle || die "node $NODE is not idle after ${WAIT_S}s: $(sinfo -N 2>&1 | tail -n 1)"
log "cluster $CLUSTER ready: $(sinfo -h -N -o '%N %t %c cpus') (SLURM_CONF=$SLURM_CONF)"
