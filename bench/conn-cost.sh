#!/usr/bin/env bash
# What one connection costs: Rapid (this checkout's dist/, `npx tsc -p .` first), node:http and
# the bare node:net server under the "no keep-alive" load (wrk -H 'Connection: close': one TCP
# connection per request). Servers pinned to CPU 0, wrk to CPU 1, measured alternately (rapid,
# node, bare, rapid, ...). Per server: median req/s, median server CPU µs per request (user +
# system from /proc/<pid>/stat over wrk's request count), and, from one extra run under
# `strace -c -f`, the syscalls per request by name (strace slows the server; the counts per
# request do not depend on that).
#   bench/conn-cost.sh                      Env: REPS (5), DURATION (3s), CONNS (64), OUT (a file),
#                                           SERVERS ("rapid node bare"), STRACE (1; 0 skips it),
#                                           RAPID_APP (dist/bench/app.js; e.g. one bench/ab.sh
#                                           built: .tmp/ab/<rev>/dist/bench/app.js)
# Wrapped in flock /tmp/rapid-bench.lock so two load runs never overlap.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
if [ -z "${AB_LOCKED:-}" ]; then
  AB_LOCKED=1 exec flock /tmp/rapid-bench.lock "$0" "$@"
fi
REPS=${REPS:-5}
DURATION=${DURATION:-3s}
CONNS=${CONNS:-64}
SERVERS=${SERVERS:-"rapid node bare"}
STRACE=${STRACE:-1}
HDR_ACCEPT='Accept: text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7'
URLPATH=/plaintext
RAPID_APP=${RAPID_APP:-dist/bench/app.js}
[ -f "$RAPID_APP" ] || { echo "$RAPID_APP missing: run npx tsc -p . first" >&2; exit 1; }
command -v strace >/dev/null || STRACE=0

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
TICK_US=$(echo "1000000 / $(getconf CLK_TCK)" | bc -l)

declare -A PID PORT
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
port=18291
for s in $SERVERS; do
  case $s in
    rapid) env PORT=$port taskset -c 0 node "$RAPID_APP" >/dev/null 2>&1 & ;;
    node) env PORT=$port taskset -c 0 node bench/peers/node-http.mjs >/dev/null 2>&1 & ;;
    bare) env PORT=$port BARE_CLOSE=1 taskset -c 0 node bench/peers/bare-net.mjs >/dev/null 2>&1 & ;;
    *) echo "unknown server $s" >&2; exit 1 ;;
  esac
  PID[$s]=$! PORT[$s]=$port
  pids+=("$!")
  for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$port$URLPATH" >/dev/null 2>&1 && break
    sleep 0.1
  done
  port=$((port + 1))
done

wrkargs=(-t1 -c"$CONNS" -H "$HDR_ACCEPT" -H 'Connection: close')
measure() { # server -> "rps us_per_req requests"
  local t0 t1 out n rps
  t0=$(cpu_ticks "${PID[$1]}")
  out=$(taskset -c 1 wrk "${wrkargs[@]}" -d"$DURATION" "http://127.0.0.1:${PORT[$1]}$URLPATH")
  t1=$(cpu_ticks "${PID[$1]}")
  n=$(echo "$out" | awk '/requests in/ {print $1}')
  rps=$(echo "$out" | awk '/^Requests\/sec/ {print $2}')
  echo "$rps $(echo "($t1 - $t0) * $TICK_US / $n" | bc -l) $n"
}

for s in $SERVERS; do # warm-up (JIT), not measured
  taskset -c 1 wrk "${wrkargs[@]}" -d2s "http://127.0.0.1:${PORT[$s]}$URLPATH" >/dev/null
done

{
  echo "rapid = $RAPID_APP; no keep-alive: wrk -t1 -c$CONNS -d$DURATION -H 'Connection: close' GET $URLPATH; node $(node --version); $REPS interleaved runs; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  declare -A R C
  for _ in $(seq 1 "$REPS"); do
    for s in $SERVERS; do
      read -r x y _ <<<"$(measure "$s")"
      R[$s]="${R[$s]:-} $x" C[$s]="${C[$s]:-} $(printf %.2f "$y")"
    done
  done
  printf '%-8s %10s %10s   %s\n' server 'req/s' 'us/req' 'us/req of each run'
  for s in $SERVERS; do
    printf '%-8s %10.0f %10.2f   %s\n' "$s" "$(tr ' ' '\n' <<<"${R[$s]}" | grep . | median)" \
      "$(tr ' ' '\n' <<<"${C[$s]}" | grep . | median)" "${C[$s]# }"
  done
  if [ "$STRACE" = 1 ]; then
    echo
    echo "syscalls per request (strace -c -f over one ${DURATION} run; strace slows the server)"
    for s in $SERVERS; do
      f=$(mktemp)
      strace -c -f -q -o "$f" -p "${PID[$s]}" &
      st=$!
      sleep 0.5
      read -r _ _ n <<<"$(measure "$s")"
      kill -INT "$st" && wait "$st" 2>/dev/null || true
      per=$(awk -v n="$n" '$NF ~ /^[a-z_0-9]+$/ && $4 ~ /^[0-9]+$/ && $NF != "total" {
          if ($4 / n >= 0.05) printf "%s %.2f\n", $NF, $4 / n; tot += $4 }
        END { printf "total %.2f\n", tot / n }' "$f" | sort -k2 -gr | tr '\n' ' ')
      printf '%-8s %s\n' "$s" "$per"
      rm -f "$f"
    done
  fi
  echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee ${OUT:+"$OUT"}
