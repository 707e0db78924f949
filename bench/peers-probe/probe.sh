#!/bin/bash
# Interleaved CPU-per-request probe. Usage: probe.sh ROUNDS DURATION variant...
# variant: NAME=BIN[,ENV=VAL,...] for Core, or "fastapi". Each variant's round holds /tmp/cpu.lock.
export PEERS_STATE=${PEERS_STATE:-/tmp/peers-probe}
PEERS_DIR=${PEERS_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)/shared/peers}
HERE=$(cd "$(dirname "$0")" && pwd)
source $PEERS_DIR/scripts/common.sh
set +e
export CONNS=${CONNS:-"16 64"} SCEN=${SCEN:-"patch list"} WARM=${WARM:-5s}
out=$PEERS_STATE/results; mkdir -p $out
export PEERS_WRK_DIR=$PEERS_DIR/wrk PEERS_WRK_DATA=$PEERS_STATE/learners.lua PEERS_WRK_THREADS=2
if [[ $1 == one ]]; then
  round=$2 spec=$3 DURATION=$4
  if [[ $spec == fastapi ]]; then name=fastapi server=fastapi; else
    name=${spec%%=*}; rest=${spec#*=}; bin=${rest%%,*}; env=""; [[ $rest == *,* ]] && env=$(echo "${rest#*,}" | tr ',' ' ')
    server=cs; export CORE_BIN=$bin CS_EXTRA_ENV="$env"; fi
  trap "stop_server $server" EXIT
  psql_db "peer_$server" -c "TRUNCATE outbox_events" -c "VACUUM ANALYZE progress" -c "VACUUM ANALYZE outbox_events" >/dev/null
  start_server $server || exit 1
  url="http://127.0.0.1:$(port_of $server)"
  for scenario in $SCEN; do for c in $CONNS; do
    f="$out/r$round-$name-$scenario-c$c.txt"
    wrk -t2 -c$c -d$WARM --timeout 10s -s $PEERS_WRK_DIR/$scenario.lua $url >/dev/null 2>&1
    echo "loadavg_before_run $(cut -d' ' -f1-3 /proc/loadavg)" >$f
    echo "cpu_ticks_before $($PY $PEERS_DIR/scripts/cputicks.py $(cat $STATE/$server.pid) peer_$server)" >>$f
    wrk -t2 -c$c -d$DURATION --timeout 10s --latency -s $PEERS_WRK_DIR/$scenario.lua $url >>$f 2>&1
    echo "cpu_ticks_after $($PY $PEERS_DIR/scripts/cputicks.py $(cat $STATE/$server.pid) peer_$server)" >>$f
    $PY $HERE/line.py $f
  done; done
  exit 0
fi
ROUNDS=$1 DURATION=$2; shift 2
for ((r=1; r<=ROUNDS; r++)); do
  n=$#
  for ((k=0;k<n;k++)); do
    idx=$(( (r-1+k) % n + 1 )); spec=${!idx}
    flock /tmp/cpu.lock bash $HERE/probe.sh one $r "$spec" $DURATION
  done
done
