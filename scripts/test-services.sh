#!/usr/bin/env bash
# Provisions the services the CyberHub test suites talk to, all on loopback:
#   - a dedicated PostgreSQL 15 instance with pgvector (default 127.0.0.1:55432)
#   - a dedicated Redis instance without persistence (default 127.0.0.1:56379)
#   - Debian's chromium for browser tests
#   - Debian's nginx, only its binary: scripts/cluster.sh runs it as the front door
#     of a multi-instance cluster from a config of its own (no system nginx is run)
#
# Idempotent: missing packages are installed, running instances are reused, so
# a second run takes a second or two. Debian's own clusters/daemons (postgres on
# 5432, redis on 6379) are left alone; we never touch their ports.
#
# Usage:
#   source scripts/test-services.sh   # provisions, then exports the variables below
#   scripts/test-services.sh          # provisions, then prints `export ...` lines
#                                     # on stdout (progress goes to stderr)
#
# Exported variables (tests treat the services as mandatory when they are set):
#   CYBERHUB_TEST_POSTGRES  Npgsql connection string, superuser `cyberhub`
#   CYBERHUB_TEST_REDIS     host:port of the Redis instance
#   CYBERHUB_TEST_CHROMIUM  path of the chromium binary
#   CYBERHUB_TEST_NGINX     path of the nginx binary
#
# Settings (environment):
#   CYBERHUB_TEST_PG_PORT     (default 55432)
#   CYBERHUB_TEST_REDIS_PORT  (default 56379)
#   CYBERHUB_TEST_DIR         state directory (default /tmp/cyberhub-test)

# --- sourced: run the provisioning in a child bash so its `set -e`, traps and
# locks stay out of the caller's shell, then adopt the exports it prints.
if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
    _cyberhub_exports="$(bash "${BASH_SOURCE[0]}")" || {
        _cyberhub_rc=$?
        echo "[services] provisioning failed (exit $_cyberhub_rc)" >&2
        unset _cyberhub_exports
        return "$_cyberhub_rc"
    }
    eval "$_cyberhub_exports"
    unset _cyberhub_exports
    return 0
fi

set -euo pipefail

PG_PORT="${CYBERHUB_TEST_PG_PORT:-55432}"
REDIS_PORT="${CYBERHUB_TEST_REDIS_PORT:-56379}"
BASE="${CYBERHUB_TEST_DIR:-/tmp/cyberhub-test}"
PG_BIN=/usr/lib/postgresql/15/bin
PG_DATA="$BASE/pg"
PG_SOCK="$BASE/run"
REDIS_DIR="$BASE/redis"
LOG="$BASE/provision.log"
CHROMIUM=/usr/bin/chromium
NGINX=/usr/sbin/nginx
TRIXIE_SRC=/etc/apt/sources.list.d/cyberhub-trixie-src.sources

export DEBIAN_FRONTEND=noninteractive
# Connection settings from the caller's environment must not leak into our
# own psql calls.
unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGPASSWORD PGSERVICE PGOPTIONS PGSSLMODE

mkdir -p "$BASE"
start_time=$SECONDS

step() { echo "[services] $*" >&2; }
die() {
    echo "[services] ERROR: $*" >&2
    echo "[services] details in $LOG" >&2
    exit 1
}

# Only one provisioning at a time (e.g. two test runs started together).
# Daemons started below get `9>&-` so they do not inherit (and hold) the lock.
exec 9>"$BASE/provision.lock"
flock -w 900 9 || die "timed out waiting for another provisioning run"
: >"$LOG"

# apt-get, make install and runuser all need root.
[[ $EUID -eq 0 ]] || die "must run as root"

# ---------------------------------------------------------------- packages

is_installed() {
    [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == installed ]]
}

apt_updated=0
apt_update() {
    [[ $apt_updated == 1 ]] && return 0
    step "apt-get update"
    apt-get update -q >>"$LOG" 2>&1 || die "apt-get update failed"
    apt_updated=1
}

# apt_install PKG...   installs whichever PKGs are missing
apt_install() {
    local missing=() p
    for p in "$@"; do
        is_installed "$p" || missing+=("$p")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    apt_update
    step "installing ${missing[*]}"
    apt-get install -y -q --no-install-recommends \
        -o DPkg::Lock::Timeout=600 \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        "${missing[@]}" >>"$LOG" 2>&1 || die "apt-get install ${missing[*]} failed"
}

pgvector_installed() {
    [[ -f /usr/share/postgresql/15/extension/vector.control && -f /usr/lib/postgresql/15/lib/vector.so ]]
}

# pgvector has no bookworm package, so it is built from trixie's source
# package. A deb-src entry only makes source packages visible; binary packages
# still come from bookworm alone.
add_trixie_sources() {
    [[ -f "$TRIXIE_SRC" ]] && return 0
    step "adding trixie deb-src entry ($TRIXIE_SRC)"
    cat >"$TRIXIE_SRC" <<'EOF'
# Source packages only (pgvector for the CyberHub test database).
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    apt_updated=0 # the new index has to be fetched
}

build_pgvector() {
    # An index fetched before the deb-src entry existed does not know pgvector.
    if ! apt-cache showsrc pgvector 2>/dev/null | grep -q '^Package: pgvector'; then
        apt_update
    fi
    local work
    work="$(mktemp -d)"
    # Only download: unpacking is done with bookworm's own tools below, so a
    # newer source format in trixie cannot get in the way.
    step "building pgvector from trixie sources"
    (cd "$work" && apt-get source --download-only -q pgvector) >>"$LOG" 2>&1 \
        || die "apt-get source pgvector failed"
    local src="$work/src" dsc orig
    dsc="$(compgen -G "$work/pgvector_*.dsc" | head -n1 || true)"
    if [[ -z "$dsc" ]] || ! dpkg-source --no-check -x "$dsc" "$src" >>"$LOG" 2>&1; then
        # Fall back to the upstream tarball; the Debian patches are not needed
        # for a plain `make install`.
        rm -rf "$src"
        orig="$(compgen -G "$work/pgvector_*.orig.tar.*" | head -n1 || true)"
        [[ -n "$orig" ]] || die "no pgvector source tarball downloaded"
        mkdir -p "$src"
        tar -xf "$orig" -C "$src" --strip-components=1 >>"$LOG" 2>&1 || die "cannot unpack $orig"
    fi
    # OPTFLAGS= drops pgvector's default -march=native (portable binary);
    # with_llvm=no skips the JIT bitcode, which tests do not need.
    local make_args=(PG_CONFIG="$PG_BIN/pg_config" OPTFLAGS= with_llvm=no)
    make -C "$src" -j"$(nproc)" "${make_args[@]}" >>"$LOG" 2>&1 || die "pgvector build failed"
    make -C "$src" "${make_args[@]}" install >>"$LOG" 2>&1 || die "pgvector install failed"
    rm -rf "$work"
    pgvector_installed || die "pgvector installed but vector.control/vector.so not found"
}

need_pgvector=0
pgvector_installed || need_pgvector=1
# Write the sources entry before the first (and only) apt-get update.
[[ $need_pgvector == 1 ]] && add_trixie_sources

# fonts-liberation is one of chromium's recommends (skipped with the rest):
# metric-compatible standard fonts so pages render text sensibly.
pkgs=(postgresql-15 redis-server chromium fonts-liberation)
[[ $need_pgvector == 1 ]] && pkgs+=(postgresql-server-dev-15 build-essential dpkg-dev)
apt_install "${pkgs[@]}"
[[ -x "$CHROMIUM" ]] || die "$CHROMIUM missing after installing chromium"

if [[ $need_pgvector == 1 ]]; then
    build_pgvector
fi

# nginx: only the binary is wanted. Its postinst starts the system nginx on
# port 80 where an init system (or no policy-rc.d denying it) lets it; that
# daemon would also inherit the lock on fd 9, so the install runs with fd 9
# closed, and a system nginx that this install started is stopped again.
if ! is_installed nginx; then
    apt_install nginx 9>&-
    if [[ -s /run/nginx.pid ]] && [[ "$(cat "/proc/$(cat /run/nginx.pid)/comm" 2>/dev/null)" == nginx ]]; then
        step "nginx: stopping the system nginx its package started"
        { invoke-rc.d nginx stop || "$NGINX" -s quit; } >>"$LOG" 2>&1 9>&- || die "cannot stop the system nginx"
    fi
fi
[[ -x "$NGINX" ]] || die "$NGINX missing after installing nginx"
step "packages ready: postgresql-15, pgvector, redis-server, chromium, nginx"

# ---------------------------------------------------------------- postgres

# PostgreSQL refuses to run as root, so everything server-side runs as the
# `postgres` OS user (created by the postgresql-common package). cd / avoids
# "could not change directory" noise when the caller's cwd is private.
as_pg() { (cd / && runuser -u postgres -- "$@"); }
pg_admin() { as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCK" -p "$PG_PORT" -U postgres "$@"; }
# Through our own socket directory, so that another server on the same TCP
# port is never mistaken for our instance.
pg_ready() { "$PG_BIN/pg_isready" -q -h "$PG_SOCK" -p "$PG_PORT" -t 2; }

write_pg_config() {
    # Regenerated on every start so a changed port or setting takes effect.
    cat >"$PG_DATA/cyberhub.conf" <<EOF
# Managed by scripts/test-services.sh; throwaway test instance.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_SOCK'
max_connections = 300
# Durability is pointless for test data; these make DDL-heavy tests much faster.
fsync = off
synchronous_commit = off
full_page_writes = off
password_encryption = 'scram-sha-256'
EOF
    cat >"$PG_DATA/pg_hba.conf" <<'EOF'
# TYPE  DATABASE  USER  ADDRESS       METHOD
local   all       all                 peer
host    all       all   127.0.0.1/32  scram-sha-256
EOF
    chown postgres:postgres "$PG_DATA/cyberhub.conf" "$PG_DATA/pg_hba.conf"
}

init_pg() {
    step "postgres: initdb $PG_DATA"
    rm -rf "$PG_DATA"
    install -d -o postgres -g postgres -m 700 "$PG_DATA"
    as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -E UTF8 --locale=C.UTF-8 \
        --auth-local=peer --auth-host=scram-sha-256 >>"$LOG" 2>&1 || die "initdb failed"
    echo "include = 'cyberhub.conf'" >>"$PG_DATA/postgresql.conf"
}

start_pg() {
    write_pg_config
    # The server writes its log itself, as postgres.
    touch "$BASE/pg.log"
    chown postgres:postgres "$BASE/pg.log"
    step "postgres: starting on 127.0.0.1:$PG_PORT"
    if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$BASE/pg.log" -w -t 60 -s start >>"$LOG" 2>&1 9>&-; then
        tail -n 20 "$BASE/pg.log" >&2 2>/dev/null || true
        die "postgres did not start (log: $BASE/pg.log)"
    fi
}

install -d -o postgres -g postgres -m 775 "$PG_SOCK"
[[ -f "$PG_DATA/PG_VERSION" ]] || init_pg

if as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
    pid="$(head -n1 "$PG_DATA/postmaster.pid" 2>/dev/null || true)"
    if [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" != postgres ]]; then
        # postmaster.pid left over from before a reboot, its PID now reused.
        rm -f "$PG_DATA/postmaster.pid"
        start_pg
    elif pg_ready; then
        step "postgres: reusing running instance on 127.0.0.1:$PG_PORT"
    else
        # Ours, but not answering on the wanted port (e.g. the port changed).
        step "postgres: restarting instance for port $PG_PORT"
        as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -w -t 60 -m fast -s stop >>"$LOG" 2>&1 9>&- || die "pg_ctl stop failed"
        start_pg
    fi
else
    if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 2 || [[ $? -eq 1 ]]; then
        die "another server already answers on 127.0.0.1:$PG_PORT; set CYBERHUB_TEST_PG_PORT"
    fi
    start_pg
fi

# Role and extension setup is cheap and idempotent, so it runs every time.
pg_admin -d postgres >>"$LOG" 2>&1 <<'SQL' || die "creating role cyberhub failed"
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cyberhub') THEN
        CREATE ROLE cyberhub;
    END IF;
END $$;
ALTER ROLE cyberhub WITH LOGIN SUPERUSER PASSWORD 'cyberhub';
SQL
# In template1 so that every database created by the tests has vector already.
for db in template1 postgres; do
    pg_admin -d "$db" >>"$LOG" 2>&1 <<'SQL' || die "CREATE EXTENSION vector failed in $db"
CREATE EXTENSION IF NOT EXISTS vector;
SELECT '[1,2,3]'::vector;
SQL
done
# Check the path the tests use: TCP + password.
got="$(PGPASSWORD=cyberhub PGCONNECT_TIMEOUT=5 "$PG_BIN/psql" -X -tA -h 127.0.0.1 -p "$PG_PORT" -U cyberhub -d postgres \
    -c "SELECT '[1,2,3]'::vector" 2>>"$LOG")" || die "cannot log in as cyberhub over TCP"
[[ "$got" == "[1,2,3]" ]] || die "unexpected vector round-trip result: $got"
step "postgres: ready (cyberhub@127.0.0.1:$PG_PORT, vector $(pg_admin -d postgres -tA -c "SELECT extversion FROM pg_extension WHERE extname = 'vector'"))"

# ---------------------------------------------------------------- redis

redis_ping() { [[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]; }

if redis_ping; then
    step "redis: reusing running instance on 127.0.0.1:$REDIS_PORT"
else
    step "redis: starting on 127.0.0.1:$REDIS_PORT"
    mkdir -p "$REDIS_DIR"
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --protected-mode yes \
        --daemonize yes --save "" --appendonly no \
        --dir "$REDIS_DIR" --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log" \
        >>"$LOG" 2>&1 9>&- || die "redis-server failed to start (log: $REDIS_DIR/redis.log)"
    for _ in $(seq 50); do
        redis_ping && break
        sleep 0.2
    done
    redis_ping || die "redis does not answer PING on 127.0.0.1:$REDIS_PORT (log: $REDIS_DIR/redis.log)"
fi

# ---------------------------------------------------------------- chromium

chromium_version="$("$CHROMIUM" --version 2>>"$LOG")" || die "$CHROMIUM --version failed"
step "chromium: $chromium_version"
nginx_version="$("$NGINX" -v 2>&1)" || die "$NGINX -v failed"
step "nginx: ${nginx_version#nginx version: }"

step "services ready in $((SECONDS - start_time))s"

cat <<EOF
export CYBERHUB_TEST_POSTGRES="Host=127.0.0.1;Port=$PG_PORT;Username=cyberhub;Password=cyberhub;Database=postgres"
export CYBERHUB_TEST_REDIS="127.0.0.1:$REDIS_PORT"
export CYBERHUB_TEST_CHROMIUM="$CHROMIUM"
export CYBERHUB_TEST_NGINX="$NGINX"
EOF
