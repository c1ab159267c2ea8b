#!/usr/bin/env bash
# What serving from a config file costs over the plain static handler, the same file
# (examples/site/index.html, from the output cache) in the same run:
#   dir    rapid examples/site                     (createStaticHandler straight in serve())
#   one    rapid -c <one site>                     (+ the reload indirection)
#   hosts  rapid -c <three sites, Host: b.test>    (+ the Host lookup, a handler chain with a
#                                                   prefix-matched module handler before the root)
# Servers pinned to CPU 0, wrk to CPU 1 (-t1 -c64), runs interleaved; per server the median req/s
# and the median server CPU time per request (/proc/<pid>/stat) of REPS runs.
#   flock /tmp/rapid-bench.lock bench/config-overhead.sh | tee bench/results/$(date +%F)-config-overhead.md
# Needs: npm run build, wrk, taskset, curl, bc, node.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-5s}
CONNS=${CONNS:-64}
REPS=${REPS:-5}
CLI=dist/src/cli/main.js
TMP=$(mktemp -d)
SITE=$PWD/examples/site

cat >"$TMP/one.yaml" <<YAML
listeners: [{ host: 127.0.0.1, port: 18191 }]
sites: [{ name: localhost, root: $SITE }]
YAML
cat >"$TMP/hosts.yaml" <<YAML
listeners: [{ host: 127.0.0.1, port: 18192 }]
sites:
  - { name: a.test, root: $SITE }
  - name: b.test
    root: $SITE
    handlers: [{ type: module, path: /api, module: $PWD/examples/api.mjs }]
  - { name: '*.c.test', root: $SITE, default: true }
YAML

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
TICK_US=$(echo "1000000 / $(getconf CLK_TCK)" | bc -l)

start() { # port args... -> pid
  local port=$1
  shift
  taskset -c 0 node "$CLI" "$@" >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$port/" >/dev/null 2>&1 && break
    sleep 0.1
  done
  echo "$pid"
}
P_DIR=$(start 18190 "$SITE" --port 18190)
P_ONE=$(start 18191 -c "$TMP/one.yaml")
P_HOSTS=$(start 18192 -c "$TMP/hosts.yaml")
trap 'kill $P_DIR $P_ONE $P_HOSTS 2>/dev/null || true; rm -rf "$TMP"' EXIT

measure() { # port pid host -> "rps us_per_request"
  local t0 t1 out n rps
  t0=$(cpu_ticks "$2")
  out=$(taskset -c 1 wrk -t1 -c"$CONNS" -d"$DURATION" -H "Host: $3" "http://127.0.0.1:$1/")
  t1=$(cpu_ticks "$2")
  n=$(echo "$out" | awk '/requests in/ {print $1}')
  rps=$(echo "$out" | awk '/^Requests\/sec/ {print $2}')
  echo "$rps $(echo "($t1 - $t0) * $TICK_US / $n" | bc -l)"
}

NAMES=(dir one hosts)
PORTS=(18190 18191 18192)
PIDS=("$P_DIR" "$P_ONE" "$P_HOSTS")
HOSTS=(localhost localhost b.test)
for i in 0 1 2; do # warm-up (JIT), not measured
  taskset -c 1 wrk -t1 -c"$CONNS" -d2s -H "Host: ${HOSTS[$i]}" "http://127.0.0.1:${PORTS[$i]}/" >/dev/null
done
declare -A RPS CPU
for _ in $(seq 1 "$REPS"); do
  for i in 0 1 2; do
    read -r a b <<<"$(measure "${PORTS[$i]}" "${PIDS[$i]}" "${HOSTS[$i]}")"
    RPS[$i]="${RPS[$i]:-} $a"
    CPU[$i]="${CPU[$i]:-} $b"
  done
done
echo "# Config overhead, $(date +%F)"
echo
echo "node $(node --version), wrk -t1 -c$CONNS -d$DURATION, $REPS interleaved runs, GET / (index.html, cached), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo '| server | req/s (median) | server CPU µs/request (median) | CPU vs dir |'
echo '| ------ | -------------- | ------------------------------ | ---------- |'
BASE=$(echo "${CPU[0]}" | tr ' ' '\n' | grep . | median)
for i in 0 1 2; do
  R=$(echo "${RPS[$i]}" | tr ' ' '\n' | grep . | median)
  C=$(echo "${CPU[$i]}" | tr ' ' '\n' | grep . | median)
  printf '| %s | %.0f | %.2f | %.3fx |\n' "${NAMES[$i]}" "$R" "$C" "$(echo "$C / $BASE" | bc -l)"
done
echo
for i in 0 1 2; do echo "- ${NAMES[$i]} runs: req/s${RPS[$i]}; µs/req$(printf ' %.2f' ${CPU[$i]})"; done
