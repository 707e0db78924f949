#!/usr/bin/env bash
# Runs CyberHub as a small cluster on loopback: two Core and two AI instances
# (by default) behind one nginx front door, sharing PostgreSQL + pgvector and
# Redis. Everything Core serves is at the front door's `/`, the AI service's
# routes under `/api/v1/{embeddings,content,recommendations,personality,sync}`.
# docs/operations.md describes the topology and how it maps onto production.
#
# Usage:
#   scripts/cluster.sh up      build the host, create the databases, start
#                              nginx and the instances, wait until all answer
#   scripts/cluster.sh down    stop everything `up` started (safe to repeat)
#   scripts/cluster.sh status  each process, its pid and its health
#
# PostgreSQL (with pgvector) and Redis must be running; scripts/test-services.sh
# provides both on the default addresses below.
#
# Settings (environment):
#   CYBERHUB_CLUSTER_DIR          state directory: keys, logs, pids, nginx config
#                                 (default /tmp/cyberhub-cluster)
#   CYBERHUB_CLUSTER_PORT         front-door port on 127.0.0.1 (default 8080)
#   CYBERHUB_CLUSTER_CORE_PORTS   one port per Core instance (default "8010 8011")
#   CYBERHUB_CLUSTER_AI_PORTS     one port per AI instance (default "8020 8021")
#   CYBERHUB_CLUSTER_POSTGRES     Npgsql connection string of a role that may
#                                 create databases (default: the test server,
#                                 cyberhub@127.0.0.1:55432)
#   CYBERHUB_CLUSTER_CORE_DB      Core's database (default cyberhub_core)
#   CYBERHUB_CLUSTER_VECTORS_DB   the AI service's database (default cyberhub_vectors)
#   CYBERHUB_CLUSTER_REDIS        Redis connection string (default 127.0.0.1:56379)
#   CYBERHUB_CLUSTER_CACHE_PREFIX Redis key prefix (default cyberhub:)
#   CYBERHUB_CLUSTER_NGINX        nginx binary (default: nginx on PATH, /usr/sbin/nginx)
#   CYBERHUB_CLUSTER_HOST_DLL     a built cyberhub.dll to run; implies no build
#   CYBERHUB_CLUSTER_NO_BUILD=1   run src/CyberHub.Host's existing Release build
#   CYBERHUB_CLUSTER_START_TIMEOUT seconds to wait for each instance (default 120)
#
# The state directory keeps the Core instances' shared ES256 signing key
# (keys/signing-key.pem, generated on the first `up`); keys moved to
# keys/previous/ keep verifying the tokens they signed. logs/ holds each
# instance's log and nginx's; pids/ what `down` stops.
# Any other setting of the services (Outbox__LeaseDuration, CYBERHUB_ADMIN_EMAIL,
# ...) is passed on to every instance from the environment.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="$(realpath -m "${CYBERHUB_CLUSTER_DIR:-/tmp/cyberhub-cluster}")"
FRONT_PORT="${CYBERHUB_CLUSTER_PORT:-8080}"
read -r -a CORE_PORTS <<<"${CYBERHUB_CLUSTER_CORE_PORTS:-8010 8011}"
read -r -a AI_PORTS <<<"${CYBERHUB_CLUSTER_AI_PORTS:-8020 8021}"
PG_ADMIN="${CYBERHUB_CLUSTER_POSTGRES:-Host=127.0.0.1;Port=55432;Username=cyberhub;Password=cyberhub;Database=postgres}"
CORE_DB="${CYBERHUB_CLUSTER_CORE_DB:-cyberhub_core}"
VECTORS_DB="${CYBERHUB_CLUSTER_VECTORS_DB:-cyberhub_vectors}"
REDIS="${CYBERHUB_CLUSTER_REDIS:-127.0.0.1:56379}"
CACHE_PREFIX="${CYBERHUB_CLUSTER_CACHE_PREFIX:-cyberhub:}"
NGINX="${CYBERHUB_CLUSTER_NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}"
HOST_DLL="${CYBERHUB_CLUSTER_HOST_DLL:-}"
NO_BUILD="${CYBERHUB_CLUSTER_NO_BUILD:-0}"
START_TIMEOUT="${CYBERHUB_CLUSTER_START_TIMEOUT:-120}"
LOOPBACK=127.0.0.1

PIDS="$STATE/pids"
LOGS="$STATE/logs"
NGINX_DIR="$STATE/nginx"
KEY="$STATE/keys/signing-key.pem"

# Output never stops the script: `up` must finish, or clean up, even when
# whoever reads its output has gone (SIGPIPE ignored, write errors too).
trap '' PIPE
step() { echo "[cluster] $*" >&2 || true; }
die() { echo "[cluster] ERROR: $*" >&2 || true; exit 1; }

# ---------------------------------------------------------------- processes

# pid_of NAME: the recorded pid of a process this script started, if it still
# runs and is still that process (its command line names the state directory),
# so a recycled pid is never signalled.
pid_of() {
    local file="$PIDS/$1.pid" pid
    [[ -s "$file" ]] || return 1
    pid="$(<"$file")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -qF -- "$STATE/" || return 1
    echo "$pid"
}

# Names of every process recorded in the state directory, nginx first.
recorded() {
    [[ -d "$PIDS" ]] || return 0
    [[ -f "$PIDS/nginx.pid" ]] && echo nginx
    local file
    for file in "$PIDS"/*.pid; do
        [[ -e "$file" && "$file" != "$PIDS/nginx.pid" ]] && basename "$file" .pid
    done
    return 0
}

# Stops every recorded process: SIGTERM (nginx: SIGQUIT, a graceful stop), then
# SIGKILL for whatever still runs after 20 s.
stop_all() {
    local name pid stopping=()
    while read -r name; do
        [[ -n "$name" ]] || continue
        if pid="$(pid_of "$name")"; then
            step "stopping $name (pid $pid)"
            if [[ $name == nginx ]]; then kill -QUIT "$pid" 2>/dev/null || true; else kill -TERM "$pid" 2>/dev/null || true; fi
            stopping+=("$name")
        fi
    done < <(recorded)
    local deadline=$((SECONDS + 20)) left
    while ((${#stopping[@]} > 0)); do
        left=()
        for name in "${stopping[@]}"; do
            pid_of "$name" >/dev/null && left+=("$name")
        done
        stopping=("${left[@]+"${left[@]}"}")
        ((${#stopping[@]} == 0)) && break
        if ((SECONDS >= deadline)); then
            for name in "${stopping[@]}"; do
                pid="$(pid_of "$name")" && { step "killing $name (pid $pid)"; kill -KILL "$pid" 2>/dev/null || true; }
            done
            sleep 0.5
            break
        fi
        sleep 0.2
    done
    rm -f "$PIDS"/*.pid 2>/dev/null || true
}

healthy() { curl -fsS -o /dev/null -m 3 "$1" 2>/dev/null; }

port_in_use() { (exec 3<>"/dev/tcp/$LOOPBACK/$1") 2>/dev/null; }

# wait_healthy NAME URL: until URL answers 2xx; fails at once if NAME exits.
wait_healthy() {
    local name=$1 url=$2 deadline=$((SECONDS + START_TIMEOUT))
    until healthy "$url"; do
        if [[ $name != nginx ]] && ! pid_of "$name" >/dev/null; then
            tail -n 40 "$LOGS/$name.log" >&2 2>/dev/null || true
            die "$name exited during start (log: $LOGS/$name.log)"
        fi
        ((SECONDS < deadline)) || die "$name did not answer $url within ${START_TIMEOUT}s (log: $LOGS/$name.log)"
        sleep 0.3
    done
}

# ---------------------------------------------------------------- postgres

# npgsql_value KEY...: the value of the first of these (normalised) keys in
# PG_ADMIN. Quoted values containing ';' are not supported.
npgsql_value() {
    local part key value alias
    local -a parts
    IFS=';' read -r -a parts <<<"$PG_ADMIN"
    for part in "${parts[@]}"; do
        [[ "$part" == *=* ]] || continue
        key="${part%%=*}"
        key="${key//[[:space:]]/}"
        key="${key,,}"
        value="${part#*=}"
        value="${value#"${value%%[![:space:]]*}"}"
        value="${value%"${value##*[![:space:]]}"}"
        for alias in "$@"; do
            [[ "$key" == "$alias" ]] && { printf '%s' "$value"; return 0; }
        done
    done
    return 1
}

# PG_ADMIN pointed at another database.
connection_to() {
    local part key out=""
    local -a parts
    IFS=';' read -r -a parts <<<"$PG_ADMIN"
    for part in "${parts[@]}"; do
        key="${part%%=*}"
        key="${key//[[:space:]]/}"
        key="${key,,}"
        [[ -z "${part//[[:space:]]/}" || "$key" == database || "$key" == db ]] && continue
        out+="$part;"
    done
    echo "${out}Database=$1"
}

psql_admin() { # DB SQL
    PGPASSWORD="$(npgsql_value password pwd psw || true)" PGCONNECT_TIMEOUT=5 PGOPTIONS="-c client_min_messages=warning" \
        psql -X -q -tA -v ON_ERROR_STOP=1 \
        -h "$(npgsql_value host server || echo localhost)" -p "$(npgsql_value port || echo 5432)" \
        -U "$(npgsql_value username userid user || echo postgres)" -d "$1" -c "$2"
}

ensure_databases() {
    command -v psql >/dev/null || die "psql not found (Debian: postgresql-client)"
    unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGPASSWORD PGSERVICE PGOPTIONS PGSSLMODE
    local admin_db db
    admin_db="$(npgsql_value database db || echo postgres)"
    psql_admin "$admin_db" "SELECT 1" >/dev/null || die "cannot reach PostgreSQL with CYBERHUB_CLUSTER_POSTGRES"
    for db in "$CORE_DB" "$VECTORS_DB"; do
        [[ "$db" =~ ^[a-z_][a-z0-9_]*$ ]] || die "database name '$db' must be lower-case letters, digits and _"
        if [[ -z "$(psql_admin "$admin_db" "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]]; then
            step "postgres: creating database $db"
            psql_admin "$admin_db" "CREATE DATABASE $db" || die "CREATE DATABASE $db failed"
        fi
    done
    # The AI service creates its tables itself, but the extension needs a
    # superuser (or an administrator's CREATE EXTENSION beforehand).
    psql_admin "$VECTORS_DB" "CREATE EXTENSION IF NOT EXISTS vector" \
        || die "the vector extension is missing in $VECTORS_DB and this role cannot create it; a superuser must run CREATE EXTENSION vector there"
}

# ---------------------------------------------------------------- nginx

# Upstream server lines; max_fails=1 takes a refusing instance out of rotation
# for fail_timeout after one failed attempt.
upstream_servers() {
    local port
    for port in "$@"; do
        echo "        server $LOOPBACK:$port max_fails=1 fail_timeout=5s;"
    done
}

write_nginx_conf() {
    local user_line=""
    # As root, nginx would run its workers as nobody, who may not reach the
    # state directory; it runs as whoever runs this script instead.
    [[ $EUID -eq 0 ]] && user_line="user $(id -un) $(id -gn);"
    mkdir -p "$NGINX_DIR/temp"
    cat >"$NGINX_DIR/nginx.conf" <<EOF
# Generated by scripts/cluster.sh; regenerated on every \`up\`.
$user_line
worker_processes 1;
daemon on;
pid $PIDS/nginx.pid;
error_log $LOGS/nginx-error.log warn;

events {
    worker_connections 1024;
}

http {
    # The client's X-Request-ID when the services would accept it, else a fresh
    # one: sent to the instance, logged here and returned to the client.
    map \$http_x_request_id \$cyberhub_request_id {
        "~^[A-Za-z0-9._-]{1,128}\$" \$http_x_request_id;
        default \$request_id;
    }

    log_format cyberhub '\$remote_addr [\$time_iso8601] "\$request" \$status \$body_bytes_sent '
                        '\$request_time upstream=\$upstream_addr upstream_status=\$upstream_status '
                        'upstream_time=\$upstream_response_time request_id=\$cyberhub_request_id';
    access_log $LOGS/nginx-access.log cyberhub;

    client_body_temp_path $NGINX_DIR/temp/client_body;
    proxy_temp_path       $NGINX_DIR/temp/proxy;
    fastcgi_temp_path     $NGINX_DIR/temp/fastcgi;
    uwsgi_temp_path       $NGINX_DIR/temp/uwsgi;
    scgi_temp_path        $NGINX_DIR/temp/scgi;

    upstream cyberhub_core {
$(upstream_servers "${CORE_PORTS[@]}")
        keepalive 32;
    }

    upstream cyberhub_ai {
$(upstream_servers "${AI_PORTS[@]}")
        keepalive 32;
    }

    server {
        listen $LOOPBACK:$FRONT_PORT;
        server_name _;

        # Kestrel's default request body limit (30,000,000 bytes).
        client_max_body_size 30000000;

        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host \$http_host;
        proxy_set_header X-Request-ID \$cyberhub_request_id;
        proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto \$scheme;
        proxy_set_header X-Forwarded-Host \$http_host;

        # A dead instance refuses at once on loopback; a hung one gets 1 s.
        proxy_connect_timeout 1s;
        proxy_send_timeout 60s;
        proxy_read_timeout 120s;
        # Only requests not yet sent (or idempotent ones) go to the next
        # instance: nginx never repeats a POST or PATCH an instance received.
        proxy_next_upstream error timeout http_502 http_503;
        proxy_next_upstream_tries 3;
        proxy_next_upstream_timeout 10s;

        proxy_hide_header X-Request-ID;
        add_header X-Request-ID \$cyberhub_request_id always;
        # Which instance answered: for this loopback cluster's tests and
        # debugging; a production front door would not tell clients.
        add_header X-CyberHub-Upstream \$upstream_addr always;

        location ~ ^/api/v1/(embeddings|content|recommendations|personality|sync)(/|\$) {
            proxy_pass http://cyberhub_ai;
        }

        # The AI service's own health and OpenAPI document, under /ai/.
        location = /ai/api/v1/health/ {
            proxy_pass http://cyberhub_ai/api/v1/health/;
        }
        location = /ai/api/v1/health/live {
            proxy_pass http://cyberhub_ai/api/v1/health/live;
        }
        location = /ai/openapi/v1.json {
            proxy_pass http://cyberhub_ai/openapi/v1.json;
        }

        # Metrics are scraped from each instance directly, never through here.
        location = /metrics {
            return 404;
        }

        # Everything else is Core's: its API, /.well-known/, /docs, the web app.
        location / {
            proxy_pass http://cyberhub_core;
        }
    }
}
EOF
}

start_nginx() {
    [[ -x "$NGINX" ]] || die "nginx not found at $NGINX (Debian: nginx; or set CYBERHUB_CLUSTER_NGINX)"
    write_nginx_conf
    "$NGINX" -t -q -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" -e "$LOGS/nginx-error.log" \
        || die "nginx rejects $NGINX_DIR/nginx.conf (see $LOGS/nginx-error.log)"
    step "nginx: front door on http://$LOOPBACK:$FRONT_PORT"
    # daemon on: the master detaches and writes $PIDS/nginx.pid itself.
    setsid "$NGINX" -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" -e "$LOGS/nginx-error.log" \
        </dev/null >>"$LOGS/nginx.log" 2>&1 || die "nginx failed to start (logs: $LOGS/nginx.log, $LOGS/nginx-error.log)"
    local deadline=$((SECONDS + 10))
    until pid_of nginx >/dev/null; do
        ((SECONDS < deadline)) || die "nginx did not write its pid file (log: $LOGS/nginx-error.log)"
        sleep 0.1
    done
}

# ---------------------------------------------------------------- instances

# start_instance core|ai N PORT: one service process, detached, its own data
# directory and log; the pid recorded is the dotnet process itself.
start_instance() {
    local service=$1 name="$1-$2" port=$3 dir="$STATE/$1-$2"
    local front="http://$LOOPBACK:$FRONT_PORT"
    mkdir -p "$dir"
    echo "$port" >"$dir/port"
    (
        export CYBERHUB_DATA_DIR="$dir"
        export CYBERHUB_CORE_API_URL="$front" CYBERHUB_AI_API_URL="$front"
        export ConnectionStrings__core="$CORE_CONNECTION" ConnectionStrings__vectors="$VECTORS_CONNECTION"
        export ConnectionStrings__redis="$REDIS" Cache__Prefix="$CACHE_PREFIX"
        # nginx is the one proxy trusted to say who the client is (X-Forwarded-For): rate limits count
        # per real client address, not per front door.
        export ForwardedHeaders__KnownProxies__0="$LOOPBACK"
        if [[ $service == core ]]; then
            export CYBERHUB_CORE_URL="http://$LOOPBACK:$port"
            Auth__SigningKeyPem="$(<"$KEY")"
            export Auth__SigningKeyPem
            # Retired keys still verify the tokens they signed (see docs/operations.md).
            local previous n=0
            for previous in "$STATE"/keys/previous/*.pem; do
                [[ -f "$previous" ]] || continue
                export "Auth__PreviousKeyPems__$n=$(<"$previous")"
                n=$((n + 1))
            done
        else
            export CYBERHUB_AI_URL="http://$LOOPBACK:$port"
        fi
        # The data directory on the command line too: it names the state
        # directory, which is how pid_of recognises the process.
        exec setsid dotnet "$HOST_DLL" "$service" "--CYBERHUB_DATA_DIR=$dir"
    ) </dev/null >"$LOGS/$name.log" 2>&1 &
    echo $! >"$PIDS/$name.pid"
    # Its own job from now on: bash neither waits for it nor reports how it ended.
    disown $!
    step "$name: starting on http://$LOOPBACK:$port (pid $!)"
}

# ---------------------------------------------------------------- commands

cmd_up() {
    local name
    while read -r name; do
        [[ -n "$name" ]] || continue
        pid_of "$name" >/dev/null && die "the cluster in $STATE is already running ($name); run scripts/cluster.sh down first"
    done < <(recorded)
    ((${#CORE_PORTS[@]} > 0 && ${#AI_PORTS[@]} > 0)) || die "need at least one Core and one AI port"
    command -v curl >/dev/null || die "curl not found"
    command -v openssl >/dev/null || die "openssl not found"

    if [[ -z "$HOST_DLL" ]]; then
        HOST_DLL="$ROOT/src/CyberHub.Host/bin/Release/net10.0/cyberhub.dll"
        if [[ "$NO_BUILD" != 1 ]]; then
            step "building src/CyberHub.Host (Release)"
            dotnet build -c Release --nologo -v quiet "$ROOT/src/CyberHub.Host" >&2 || die "build failed"
        fi
    fi
    [[ -f "$HOST_DLL" ]] || die "no host build at $HOST_DLL (run without CYBERHUB_CLUSTER_NO_BUILD)"

    local port
    for port in "$FRONT_PORT" "${CORE_PORTS[@]}" "${AI_PORTS[@]}"; do
        port_in_use "$port" && die "port $port on $LOOPBACK is in use"
    done

    mkdir -p "$PIDS" "$LOGS" "$STATE/keys"
    ensure_databases
    CORE_CONNECTION="$(connection_to "$CORE_DB")"
    VECTORS_CONNECTION="$(connection_to "$VECTORS_DB")"
    local redis_host="${REDIS%%,*}"
    (exec 3<>"/dev/tcp/${redis_host%:*}/${redis_host##*:}") 2>/dev/null || die "Redis does not answer at $redis_host"

    # One signing key for every Core instance, kept across restarts: a token
    # one instance signs verifies on all of them.
    if [[ ! -s "$KEY" ]]; then
        step "generating the ES256 signing key $KEY"
        (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$KEY") \
            || die "openssl could not generate the signing key"
    fi

    # From here on, a failure (or an interrupt) stops whatever was started.
    trap 'rc=$?; ((rc == 0)) || stop_all' EXIT
    trap 'exit 130' INT TERM

    start_nginx
    # The first instance of each service migrates Core's schema and sets up the
    # vector store (seeding the demo catalog when it is empty); the others start
    # once it answers, so they find everything in place.
    start_instance core 1 "${CORE_PORTS[0]}"
    start_instance ai 1 "${AI_PORTS[0]}"
    wait_healthy core-1 "http://$LOOPBACK:${CORE_PORTS[0]}/api/v1/health/"
    wait_healthy ai-1 "http://$LOOPBACK:${AI_PORTS[0]}/api/v1/health/"
    local i
    for ((i = 1; i < ${#CORE_PORTS[@]}; i++)); do start_instance core $((i + 1)) "${CORE_PORTS[i]}"; done
    for ((i = 1; i < ${#AI_PORTS[@]}; i++)); do start_instance ai $((i + 1)) "${AI_PORTS[i]}"; done
    for ((i = 1; i < ${#CORE_PORTS[@]}; i++)); do wait_healthy "core-$((i + 1))" "http://$LOOPBACK:${CORE_PORTS[i]}/api/v1/health/"; done
    for ((i = 1; i < ${#AI_PORTS[@]}; i++)); do wait_healthy "ai-$((i + 1))" "http://$LOOPBACK:${AI_PORTS[i]}/api/v1/health/"; done
    wait_healthy nginx "http://$LOOPBACK:$FRONT_PORT/api/v1/health/"
    wait_healthy nginx "http://$LOOPBACK:$FRONT_PORT/ai/api/v1/health/"
    trap - EXIT INT TERM

    step "up: http://$LOOPBACK:$FRONT_PORT (Core ×${#CORE_PORTS[@]}, AI ×${#AI_PORTS[@]}; state in $STATE)"
    echo "http://$LOOPBACK:$FRONT_PORT" || true
}

cmd_down() {
    [[ -d "$STATE" ]] || { step "nothing to stop in $STATE"; return 0; }
    stop_all
    step "down"
}

cmd_status() {
    local name pid port url state rc=0
    local -a names=()
    while read -r name; do [[ -n "$name" ]] && names+=("$name"); done < <(recorded)
    if ((${#names[@]} == 0)); then
        echo "not running ($STATE)"
        return 3
    fi
    for name in "${names[@]}"; do
        if ! pid="$(pid_of "$name")"; then
            printf '%-8s %-8s stopped\n' "$name" "-"
            rc=1
            continue
        fi
        case $name in
            nginx) url="http://$LOOPBACK:$FRONT_PORT/api/v1/health/" ;;
            *) port="$(cat "$STATE/$name/port" 2>/dev/null || echo 0)"
               url="http://$LOOPBACK:$port/api/v1/health/" ;;
        esac
        if healthy "$url"; then state=healthy; else state=unhealthy; rc=1; fi
        printf '%-8s %-8s %-9s %s\n' "$name" "$pid" "$state" "$url"
    done
    return "$rc"
}

case "${1:-}" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    *) echo "usage: scripts/cluster.sh up|down|status" >&2; exit 2 ;;
esac
