#!/bin/bash
# startup.sh NAME BIN [ENV...]: seconds from launch to the first answer of /api/v1/progress/, and process CPU by then.
export PEERS_STATE=${PEERS_STATE:-/tmp/peers-probe}
PEERS_DIR=${PEERS_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)/shared/peers}
HERE=$(cd "$(dirname "$0")" && pwd)
source $PEERS_DIR/scripts/common.sh
set +e
name=$1 bin=$2; shift 2
export CORE_BIN=$bin CS_EXTRA_ENV="$*"
t0=$(date +%s.%N)
start_server cs
t1=$(date +%s.%N)
pid=$(cat $PEERS_STATE/cs.pid)
cpu=$(awk '{print ($14+$15)/100}' /proc/$pid/stat)
stop_server cs
echo "$name startup $(echo "$t1 - $t0" | bc) s, cpu $cpu s, load $(cut -d' ' -f1 /proc/loadavg)"
