#!/usr/bin/env bash
# vodaxa integration harness: a local GAVO DaCHS server (Debian packages) serving TAP/UWS, SCS,
# DataLink and ObsCore for the synthetic table vodaxa.numaster, on 127.0.0.1 only.
#
#   bash tests/integration/dachs/setup.sh           install if needed, import, (re)start;
#                                                   ends with "DACHS READY http://127.0.0.1:PORT"
#   bash tests/integration/dachs/setup.sh --stop    stop DaCHS and the PostgreSQL cluster
#
# Environment:
#   VODAXA_DACHS_PORT      HTTP port (default 18080)
#   VODAXA_DACHS_REIMPORT  1 = re-import even if the RD, data and config are unchanged
#   VODAXA_DACHS_LOG       where apt/dachs output goes (default /var/log/vodaxa-dachs-setup.log)
#
# Root only; Debian 12 with apt access; no systemd needed (PostgreSQL runs via pg_ctlcluster, DaCHS
# daemonises itself). Idempotent: steps already done are skipped; the server is restarted only if the
# config or the data changed or it is not answering. Exits non-zero with a message on any failure.
set -Eeuo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PORT="${VODAXA_DACHS_PORT:-18080}"
URL="http://127.0.0.1:${PORT}"
RESDIR=/var/gavo/inputs/vodaxa
PIDFILE=/var/gavo/state/web.pid
STAMP=/var/gavo/state/vodaxa-import.sha256
LOG="${VODAXA_DACHS_LOG:-/var/log/vodaxa-dachs-setup.log}"
SYS_PYTHON=/usr/bin/python3          # Debian's python, the one DaCHS runs on
export DEBIAN_FRONTEND=noninteractive
T0=$(date +%s.%N)

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
log() { printf '[vodaxa-dachs %6ss] %s\n' "$(since "$T0")" "$*" >&2; }
die() {
  log "FAILED: $*"
  log "see $LOG and /var/gavo/logs/ (dcErrors, server.stderr)"
  exit 1
}
trap 'die "line $LINENO: \`$BASH_COMMAND\` exited with status $?"' ERR

# Run a command with its output appended to $LOG; on failure show the log tail and die.
run_logged() {
  local rc=0
  printf '\n### %s: %s\n' "$(date -Is)" "$*" >>"$LOG"
  "$@" </dev/null >>"$LOG" 2>&1 || rc=$?
  if [ "$rc" != 0 ]; then
    tail -n 25 "$LOG" >&2
    die "\`$*\` exited with status $rc"
  fi
}

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
dachs_pid() { [ -f "$PIDFILE" ] && cat "$PIDFILE" 2>/dev/null || true; }
# Alive and not a zombie (a container's PID 1 may never reap the exited daemon).
dachs_running() { local p; p="$(dachs_pid)"; [ -n "$p" ] && ps -o stat= -p "$p" 2>/dev/null | grep -qv '^Z'; }
answering() { curl -sf -m 5 -o /dev/null "$URL/tap/availability"; }
pg_cluster() { pg_lsclusters -h 2>/dev/null | awk 'NR == 1 { print $1, $2 }'; }
pg_online() { pg_lsclusters -h 2>/dev/null | awk -v v="$1" -v c="$2" '$1 == v && $2 == c { print $4 }' | grep -q online; }
psql_gavo() { runuser -u postgres -- psql -X -tAq -d gavo -c "$1" 2>/dev/null || true; }
as_dachsroot() { run_logged runuser -u dachsroot -- sh -c "cd $RESDIR && $*"; }

stop_dachs() {
  if command -v dachs >/dev/null && dachs_running; then
    local t; t=$(now)
    log "stopping DaCHS (pid $(dachs_pid))"
    run_logged dachs serve stop
    for _ in $(seq 1 100); do dachs_running || break; sleep 0.1; done
    dachs_running && die "DaCHS (pid $(dachs_pid)) did not stop"
    log "DaCHS stopped in $(since "$t") s"
  fi
  if [ -f "$PIDFILE" ] && ! dachs_running; then rm -f "$PIDFILE"; fi   # stale after a crash/reboot
}

stop_all() {
  stop_dachs
  local v c
  read -r v c < <(pg_cluster) || true
  if [ -n "${v:-}" ] && pg_online "$v" "$c"; then
    log "stopping PostgreSQL $v/$c"
    run_logged pg_ctlcluster "$v" "$c" stop
  fi
  log "stopped"
}

[ "$(id -u)" = 0 ] || { echo "setup.sh: must run as root" >&2; exit 1; }
mkdir -p "$(dirname "$LOG")"
case "${1:-}" in
  --stop) stop_all; exit 0 ;;
  "") ;;
  *) echo "usage: bash $0 [--stop]   (port from VODAXA_DACHS_PORT, default 18080)" >&2; exit 2 ;;
esac
[[ "$PORT" =~ ^[0-9]+$ ]] || die "VODAXA_DACHS_PORT must be a number, got '$PORT'"
log "setting up DaCHS on $URL (log: $LOG)"

# --- 1. /etc/gavo.rc before the package: DaCHS reads it, the package does not own it.
CONFIG_CHANGED=0
cat >/etc/gavo.rc.vodaxa-new <<EOF
# written by vodaxa tests/integration/dachs/setup.sh
[web]
bindAddress: 127.0.0.1
serverPort: ${PORT}
serverURL: ${URL}

[ivoa]
authority: x-vodaxa.test
EOF
if cmp -s /etc/gavo.rc.vodaxa-new /etc/gavo.rc; then
  rm -f /etc/gavo.rc.vodaxa-new
else
  mv /etc/gavo.rc.vodaxa-new /etc/gavo.rc
  CONFIG_CHANGED=1
  log "wrote /etc/gavo.rc (port $PORT)"
fi

# --- 2. PostgreSQL with pgsphere and q3c. apt-get update only when something is missing.
APT_UPDATED=0
APT_OPTS=(-o DPkg::Lock::Timeout=600)   # wait for another apt/dpkg run instead of failing at once
apt_install() {
  local t; t=$(now)
  if [ "$APT_UPDATED" = 0 ]; then run_logged apt-get "${APT_OPTS[@]}" update; APT_UPDATED=1; fi
  run_logged apt-get "${APT_OPTS[@]}" install -y --no-install-recommends "$@"
  log "installed $* in $(since "$t") s"
}
installed postgresql || apt_install postgresql
read -r PGV PGC < <(pg_cluster) || true
PGV="${PGV:-$(ls /usr/lib/postgresql | sort -n | tail -n 1)}"
PGC="${PGC:-main}"
[ -n "$PGV" ] || die "no PostgreSQL server version found under /usr/lib/postgresql"
missing=()
for pkg in "postgresql-$PGV-pgsphere" "postgresql-$PGV-q3c"; do installed "$pkg" || missing+=("$pkg"); done
if [ "${#missing[@]}" -gt 0 ]; then apt_install "${missing[@]}"; fi
if ! pg_lsclusters -h | awk -v v="$PGV" -v c="$PGC" '$1 == v && $2 == c' | grep -q .; then
  log "creating PostgreSQL cluster $PGV/$PGC"
  run_logged pg_createcluster "$PGV" "$PGC"
fi
if ! pg_online "$PGV" "$PGC"; then
  t=$(now)
  run_logged pg_ctlcluster "$PGV" "$PGC" start
  log "PostgreSQL $PGV/$PGC started in $(since "$t") s"
fi
for _ in $(seq 1 100); do pg_isready -q -h localhost && break; sleep 0.2; done
pg_isready -q -h localhost || die "PostgreSQL $PGV/$PGC does not accept connections"

# --- 3. DaCHS. Its postinst creates the gavo database and runs `dachs init`, so PostgreSQL must be
# up first; a package left half-configured by an earlier attempt without PostgreSQL is finished here.
if dpkg-query -W -f='${Status}' gavodachs2-server 2>/dev/null | grep -Eq "half-configured|unpacked"; then
  log "finishing a half-configured gavodachs2-server"
  run_logged dpkg --configure -a
fi
installed gavodachs2-server || apt_install gavodachs2-server
id dachsroot >/dev/null 2>&1 || die "user dachsroot missing after installing gavodachs2-server"

# --- 4. RD and generated data into the inputs directory (regenerated each run: cheap, deterministic).
t=$(now)
install -d -o dachsroot -g gavo "$RESDIR"
cmp -s "$HERE/vodaxa_q.rd" "$RESDIR/q.rd" || install -m 0644 "$HERE/vodaxa_q.rd" "$RESDIR/q.rd"
rm -rf "$RESDIR/data.new"
run_logged "$SYS_PYTHON" "$HERE/make_data.py" "$RESDIR/data.new"
if [ -d "$RESDIR/data" ] && diff -rq "$RESDIR/data" "$RESDIR/data.new" >/dev/null 2>&1; then
  rm -rf "$RESDIR/data.new"
else
  rm -rf "$RESDIR/data" && mv "$RESDIR/data.new" "$RESDIR/data"
fi
chown -R dachsroot:gavo "$RESDIR"
chmod -R u+rwX,g+rX,o+rX "$RESDIR"
log "RD and data in $RESDIR ($(since "$t") s)"

# --- 5. Import as dachsroot, skipped when RD, data and config are what was last imported.
NROWS=$(($(wc -l <"$RESDIR/data/master.csv") - 1))
WANT_STAMP=$(cat "$RESDIR/q.rd" "$RESDIR/data/master.csv" /etc/gavo.rc | sha256sum | cut -d' ' -f1)
HAVE_ROWS=$(psql_gavo "select count(*) from vodaxa.numaster")
IMPORTED=0
if [ "${VODAXA_DACHS_REIMPORT:-0}" = 1 ] || [ "$(cat "$STAMP" 2>/dev/null || true)" != "$WANT_STAMP" ] \
   || [ "$HAVE_ROWS" != "$NROWS" ]; then
  t=$(now)
  if [ "$(psql_gavo "select to_regclass('ivoa.obscore') is not null")" != t ]; then
    log "dachs imp //obscore (once)"
    as_dachsroot dachs --ui stingy imp //obscore
  fi
  as_dachsroot dachs --ui stingy imp q
  as_dachsroot dachs --ui stingy pub q
  HAVE_ROWS=$(psql_gavo "select count(*) from vodaxa.numaster")
  [ "$HAVE_ROWS" = "$NROWS" ] || die "imported $HAVE_ROWS rows into vodaxa.numaster, expected $NROWS"
  echo "$WANT_STAMP" >"$STAMP"
  IMPORTED=1
  log "imported $NROWS rows (vodaxa.numaster + ivoa.obscore) in $(since "$t") s"
else
  log "import up to date ($NROWS rows), skipped"
fi

# --- 6. (Re)start the server: `dachs serve start` daemonises and drops root for user gavo.
if dachs_running && [ "$CONFIG_CHANGED" = 0 ] && [ "$IMPORTED" = 0 ] && answering; then
  log "DaCHS already running (pid $(dachs_pid)) and up to date"
else
  stop_dachs
  if curl -s -m 2 -o /dev/null "$URL/"; then
    die "something else is already listening on $URL (set VODAXA_DACHS_PORT)"
  fi
  t=$(now)
  run_logged dachs serve start
  for _ in $(seq 1 600); do answering && break; sleep 0.1; done
  answering || die "DaCHS did not answer $URL/tap/availability within 60 s"
  log "DaCHS answering after $(since "$t") s (pid $(dachs_pid))"
fi
# The first request to the RD loads it; make sure it loads (a broken RD shows up here, not in tests).
curl -sf -m 30 -o /dev/null "$URL/vodaxa/q/cone/scs.xml?RA=61.8232&DEC=3.7099&SR=0.01" \
  || die "the vodaxa/q RD does not load (SCS endpoint fails); see /var/gavo/logs/dcErrors"
log "ready in $(since "$T0") s total"
echo "DACHS READY ${URL}"
