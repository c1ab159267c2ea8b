#!/usr/bin/env bash
# A/B of two builds of Rapid's engine, end to end: server CPU time per request and req/s.
#   bench/ab.sh <rev-a> [<rev-b>|WORKTREE]        (default b: the working tree)
# Each side's src/ and bench/ are taken with `git archive` (the working tree: copied) into
# .tmp/ab/<name>/ and compiled with this checkout's tsc. Both servers run at once (pinned to
# CPU 0, wrk to CPU 1) and are measured alternately a, b, a, b, ... so drift on a shared machine
# hits both alike. Per path: the median req/s and the median server CPU µs per request (user +
# system from /proc/<pid>/stat divided by wrk's request count; robust when the machine is busy).
# Env: PATHS ("/plaintext /json"), REPS (5), DURATION (3s), CONNS (64), DEPTH (0 = no
# pipelining, else requests per wrk write via bench/wrk/pipeline.lua, or SCRIPT: e.g.
# bench/wrk/pipeline-distinct.lua, whose pipelined requests all differ), APP (bench/app.js or
# fetch: the Hono app in fetch mode, bench/peers/rapid-fetch.mjs), ENV_A / ENV_B (extra
# VAR=value words for one side's server, e.g. ENV_B=ROUTES=1000 with a = b), OUT (a file).
# PROTO=h2: HTTP/2 over TLS instead (bench/tls-app.js, h2load -c 16 -m 32 on CPU 1; ENV_A /
# ENV_B=H2ENGINE=node for the node:http2 engine). CLOSE=1: no keep-alive, every request on a new
# TCP connection (wrk -H 'Connection: close', the suite's "no keep-alive" scenario).
# Wrapped in flock /tmp/rapid-bench.lock so two load runs never overlap.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
if [ -z "${AB_LOCKED:-}" ]; then
  AB_LOCKED=1 exec flock /tmp/rapid-bench.lock "$0" "$@"
fi
A=${1:?usage: bench/ab.sh <rev-a> [<rev-b>|WORKTREE]}
B=${2:-WORKTREE}
PATHS=${PATHS:-"/plaintext /json"}
REPS=${REPS:-5}
DURATION=${DURATION:-3s}
CONNS=${CONNS:-64}
DEPTH=${DEPTH:-0}
SCRIPT=${SCRIPT:-bench/wrk/pipeline.lua}
PROTO=${PROTO:-h1}
CLOSE=${CLOSE:-0}
CONN_HDR='Connection: keep-alive'
[ "$CLOSE" = 1 ] && CONN_HDR='Connection: close'
if [ "$PROTO" = h2 ]; then APP=${APP:-bench/tls-app.js}; else APP=${APP:-bench/app.js}; fi
PORT_A=${PORT_A:-18191}
PORT_B=${PORT_B:-18192}
HDR_ACCEPT='Accept: text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7'

build() { # rev -> dist dir
  local rev=$1 name dir
  if [ "$rev" = WORKTREE ]; then name=worktree; else name=$(git rev-parse --short "$rev"); fi
  dir=.tmp/ab/$name
  rm -rf "$dir" && mkdir -p "$dir"
  if [ "$rev" = WORKTREE ]; then
    cp -r src bench "$dir"/ && rm -rf "$dir/bench/node_modules"
  else
    git archive --format=tar "$rev" src bench | tar -x -C "$dir"
  fi
  cp tsconfig.json "$dir"/
  echo '{ "name": "rapid", "private": true, "type": "module" }' >"$dir/package.json"
  ln -s "$ROOT/node_modules" "$dir/node_modules"
  ln -s "$ROOT/bench/node_modules" "$dir/bench/node_modules" 2>/dev/null || true
  (cd "$dir" && node "$ROOT/node_modules/typescript/bin/tsc" -p . --noEmit false \
    --incremental false --declaration false --sourceMap false >&2 || true)
  [ -f "$dir/dist/src/index.js" ] || { echo "build of $rev failed" >&2; exit 1; }
  echo "$dir"
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
TICK_US=$(echo "1000000 / $(getconf CLK_TCK)" | bc -l)

DA=$(build "$A")
DB=$(build "$B")

start() { # port dist extra-env -> pid
  local port=$1 dist=$2 pid
  # shellcheck disable=SC2086
  if [ "$APP" = fetch ]; then
    env PORT="$port" RAPID_DIST="$ROOT/$dist/dist" $3 taskset -c 0 node bench/peers/rapid-fetch.mjs >/dev/null 2>&1 &
  elif [ "$PROTO" = h2 ]; then
    env PORT="$port" CERT=.tmp/ab/cert.pem KEY=.tmp/ab/key.pem $3 taskset -c 0 node "$dist/dist/$APP" >/dev/null 2>&1 &
  else
    env PORT="$port" STATIC_ROOT="$ROOT/.tmp/ab" $3 taskset -c 0 node "$dist/dist/$APP" >/dev/null 2>&1 &
  fi
  pid=$!
  for _ in $(seq 1 100); do
    curl -fsk "$SCHEME://127.0.0.1:$port/plaintext" >/dev/null 2>&1 && break
    sleep 0.1
  done
  echo "$pid"
}
mkdir -p .tmp/ab/static
SCHEME=http
if [ "$PROTO" = h2 ]; then
  SCHEME=https
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
    -keyout .tmp/ab/key.pem -out .tmp/ab/cert.pem >/dev/null 2>&1
fi
head -c 1024 /dev/urandom >.tmp/ab/static/1k.bin
head -c 65536 /dev/urandom >.tmp/ab/static/64k.bin
PA=$(start "$PORT_A" "$DA" "${ENV_A:-}")
PB=$(start "$PORT_B" "$DB" "${ENV_B:-}")
trap 'kill $PA $PB 2>/dev/null || true' EXIT

wrkargs=(-t1 -c"$CONNS" -d"$DURATION" -H "$HDR_ACCEPT" -H "$CONN_HDR")
[ "$DEPTH" != 0 ] && wrkargs+=(-s "$SCRIPT")
LOADGEN="wrk -t1 -c$CONNS -d$DURATION depth $DEPTH${SCRIPT:+ ($SCRIPT)}, $CONN_HDR"
[ "$PROTO" = h2 ] && LOADGEN="h2load -t1 -c16 -m32 -D ${DURATION%s} (TLS, h2)"
measure() { # port pid path -> "rps us_per_req"
  local t0 t1 out n rps extra=()
  [ "$DEPTH" != 0 ] && extra=(-- "$DEPTH")
  t0=$(cpu_ticks "$2")
  if [ "$PROTO" = h2 ]; then
    out=$(taskset -c 1 h2load -t1 -c16 -m32 -D "${DURATION%s}" "https://127.0.0.1:$1$3")
    n=$(echo "$out" | awk '/^requests:/ {print $8}')
    rps=$(echo "$out" | awk '/^finished in/ {print $4}')
  else
    out=$(taskset -c 1 wrk "${wrkargs[@]}" "http://127.0.0.1:$1$3" "${extra[@]}")
    n=$(echo "$out" | awk '/requests in/ {print $1}')
    rps=$(echo "$out" | awk '/^Requests\/sec/ {print $2}')
  fi
  t1=$(cpu_ticks "$2")
  echo "$rps $(echo "($t1 - $t0) * $TICK_US / $n" | bc -l)"
}

for p in $PATHS; do # warm-up (JIT), not measured
  for port in "$PORT_A" "$PORT_B"; do
    if [ "$PROTO" = h2 ]; then taskset -c 1 h2load -t1 -c16 -m32 -D 2 "https://127.0.0.1:$port$p" >/dev/null
    else taskset -c 1 wrk -t1 -c"$CONNS" -d2s -H "$CONN_HDR" "http://127.0.0.1:$port$p" >/dev/null; fi
  done
done

{
  echo "a = $A ($DA) ${ENV_A:-}, b = $B ($DB) ${ENV_B:-}; app $APP; node $(node --version); $LOADGEN; $REPS interleaved runs; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  printf '%-12s %11s %11s %7s | %9s %9s %7s\n' path 'a req/s' 'b req/s' 'b/a' 'a us/req' 'b us/req' 'a/b'
  for p in $PATHS; do
    ar=() ac=() br=() bc=()
    for _ in $(seq 1 "$REPS"); do
      read -r x y <<<"$(measure "$PORT_A" "$PA" "$p")"
      ar+=("$x") ac+=("$(printf %.2f "$y")")
      read -r x y <<<"$(measure "$PORT_B" "$PB" "$p")"
      br+=("$x") bc+=("$(printf %.2f "$y")")
    done
    RA=$(printf '%s\n' "${ar[@]}" | median) RB=$(printf '%s\n' "${br[@]}" | median)
    CA=$(printf '%s\n' "${ac[@]}" | median) CB=$(printf '%s\n' "${bc[@]}" | median)
    printf '%-12s %11.0f %11.0f %6.2fx | %9.2f %9.2f %6.2fx\n' "$p" "$RA" "$RB" \
      "$(echo "$RB / $RA" | bc -l)" "$CA" "$CB" "$(echo "$CA / $CB" | bc -l)"
    echo "             us/req a: ${ac[*]}"
    echo "             us/req b: ${bc[*]}"
  done
  echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee ${OUT:+"$OUT"}
