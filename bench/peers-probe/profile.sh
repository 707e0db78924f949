#!/bin/bash
# profile.sh NAME BIN SCENARIO CONNS [ENV...]: start Core, warm 8 s, then counters 10 s and perf 10 s under wrk load.
export PEERS_STATE=${PEERS_STATE:-/tmp/peers-probe}
PEERS_DIR=${PEERS_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)/shared/peers}
HERE=$(cd "$(dirname "$0")" && pwd)
source $PEERS_DIR/scripts/common.sh
set +e
name=$1 bin=$2 scen=$3 c=$4; shift 4
export CORE_BIN=$bin CS_EXTRA_ENV="DOTNET_PerfMapEnabled=1 $*"
export PEERS_WRK_DIR=$PEERS_DIR/wrk PEERS_WRK_DATA=$PEERS_STATE/learners.lua PEERS_WRK_THREADS=2
trap "stop_server cs" EXIT
start_server cs || exit 1
pid=$(cat $PEERS_STATE/cs.pid)
url=http://127.0.0.1:18000
p=$PEERS_STATE/prof-$name-$scen-c$c
cd "$HERE/../.."
wrk -t2 -c$c -d8s --timeout 10s -s $PEERS_WRK_DIR/$scen.lua $url >/dev/null 2>&1
wrk -t2 -c$c -d12s --timeout 10s -s $PEERS_WRK_DIR/$scen.lua $url > $p.wrk1 2>&1 & w=$!
sleep 1
dotnet dotnet-counters collect -p $pid --counters System.Runtime,Microsoft.AspNetCore.Hosting,Npgsql --refresh-interval 5 --duration 00:00:10 --format csv -o $p.counters.csv >/dev/null 2>&1
wait $w
wrk -t2 -c$c -d12s --timeout 10s -s $PEERS_WRK_DIR/$scen.lua $url > $p.wrk2 2>&1 & w=$!
sleep 1
perf record -F 499 -g -p $pid -o $p.perf.data -- sleep 10 >/dev/null 2>&1
wait $w
cp /tmp/perf-$pid.map $p.map 2>/dev/null
echo pid $pid
