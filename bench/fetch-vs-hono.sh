#!/usr/bin/env bash
# Fetch-handler mode vs Hono's own Node adapter, the same Hono app (bench/peers/hono-app.mjs), same
# run. Both servers pinned to CPU 0, wrk pinned to CPU 1 (-t1 -c64), runs interleaved (hono, rapid,
# hono, rapid, ...) so both see the same machine; per endpoint the median req/s of REPS runs and
# the median server CPU time per request (from /proc/<pid>/stat, robust to a busy machine), and
# the Rapid/Hono ratios. Issue 3 wants >= 1.5x.
#   bench/fetch-vs-hono.sh            (uses dist/: npm run build; RAPID_DIST=... for another build)
# Needs: wrk, taskset, curl, bc, node; `cd bench && npm install` (hono, @hono/node-server).
set -euo pipefail
cd "$(dirname "$0")"
DURATION=${DURATION:-5s}
CONNS=${CONNS:-64}
REPS=${REPS:-3}
PORT_H=${PORT_H:-18181}
PORT_R=${PORT_R:-18182}
PATHS=${PATHS:-"/plaintext /json /user/42"}

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
TICK_US=$(echo "1000000 / $(getconf CLK_TCK)" | bc -l)

start() { # port script -> pid
  PORT=$1 taskset -c 0 node "peers/$2" >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$1/plaintext" >/dev/null 2>&1 && break
    sleep 0.1
  done
  echo "$pid"
}
HPID=$(start "$PORT_H" hono-node.mjs)
RPID=$(start "$PORT_R" rapid-fetch.mjs)
trap 'kill $HPID $RPID 2>/dev/null || true' EXIT

# one run: port pid path -> "rps cpu_us_per_request"
measure() {
  local t0 t1 out
  t0=$(cpu_ticks "$2")
  out=$(taskset -c 1 wrk -t1 -c"$CONNS" -d"$DURATION" "http://127.0.0.1:$1$3")
  t1=$(cpu_ticks "$2")
  local n rps
  n=$(echo "$out" | awk '/requests in/ {print $1}')
  rps=$(echo "$out" | awk '/^Requests\/sec/ {print $2}')
  echo "$rps $(echo "($t1 - $t0) * $TICK_US / $n" | bc -l)"
}

# warm-up (JIT), not measured
for p in $PATHS; do
  taskset -c 1 wrk -t1 -c"$CONNS" -d2s "http://127.0.0.1:$PORT_H$p" >/dev/null
  taskset -c 1 wrk -t1 -c"$CONNS" -d2s "http://127.0.0.1:$PORT_R$p" >/dev/null
done

echo "node $(node --version), wrk -t1 -c$CONNS -d$DURATION, $REPS interleaved runs, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-10s %12s %12s %7s | %14s %14s %7s\n' path 'hono req/s' 'rapid req/s' ratio 'hono us/req' 'rapid us/req' ratio
for p in $PATHS; do
  hr=() hc=() rr=() rc=()
  for _ in $(seq 1 "$REPS"); do
    read -r a b <<<"$(measure "$PORT_H" "$HPID" "$p")"
    hr+=("$a") hc+=("$b")
    read -r a b <<<"$(measure "$PORT_R" "$RPID" "$p")"
    rr+=("$a") rc+=("$b")
  done
  H=$(printf '%s\n' "${hr[@]}" | median) R=$(printf '%s\n' "${rr[@]}" | median)
  HC=$(printf '%s\n' "${hc[@]}" | median) RC=$(printf '%s\n' "${rc[@]}" | median)
  printf '%-10s %12.0f %12.0f %6.2fx | %14.2f %14.2f %6.2fx\n' "$p" "$H" "$R" \
    "$(echo "$R / $H" | bc -l)" "$HC" "$RC" "$(echo "$HC / $RC" | bc -l)"
  echo "           runs: hono ${hr[*]} | rapid ${rr[*]}"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
