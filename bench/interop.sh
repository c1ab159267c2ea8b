#!/usr/bin/env bash
# Rapid's interop handlers vs nginx doing the same job, same run: FastCGI to one php-fpm
# (hello.php) and the reverse proxy to one bare upstream (bench/peers/bare-net.mjs). Each front
# server is pinned to CPU 0 (nginx: one process, master_process off); php-fpm, the upstream and
# wrk share CPU 1. Runs interleaved (nginx, rapid, ...); per scenario the median req/s of REPS
# runs and the median CPU time per request of the front server alone (/proc/<pid>/stat), which is
# what the front costs and the steadier number on a busy machine.
#   flock /tmp/rapid-bench.lock bench/interop.sh     (uses dist/: npm run build)
# Writes bench/results/<date>-interop.md. Needs: wrk, taskset, curl, bc, node, nginx, php-fpm.
set -euo pipefail
cd "$(dirname "$0")"
DURATION=${DURATION:-5s}
CONNS=${CONNS:-32}
REPS=${REPS:-3}
FPM_CHILDREN=${FPM_CHILDREN:-4}
OUT=${OUT:-results/$(date +%F)-interop.md}
P_FPM=19000 P_FPM2=19002 P_UP=19001 P_NF=19010 P_RF=19011 P_NP=19020 P_RP=19021
TMP=$(mktemp -d)
FPM_BIN=$(ls /usr/sbin/php-fpm* 2>/dev/null | head -1)
[ -n "$FPM_BIN" ] || { echo "php-fpm not installed (apt-get install php-fpm)"; exit 1; }

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
TICK_US=$(echo "1000000 / $(getconf CLK_TCK)" | bc -l)
wait_url() { for _ in $(seq 1 100); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no answer from $1"; exit 1; }

mkdir -p "$TMP/www"
printf '<?php echo "Hello, World!";\n' >"$TMP/www/hello.php"
# One php-fpm pool per front: a kept-alive FastCGI connection holds its php-fpm child, so two
# fronts sharing one pool would starve each other (docs/interop.md, Sizing).
for p in $P_FPM $P_FPM2; do
  cat >"$TMP/fpm-$p.conf" <<CONF
[global]
error_log = $TMP/fpm-$p.log
pid = $TMP/fpm-$p.pid
daemonize = no
[www]
listen = 127.0.0.1:$p
pm = static
pm.max_children = $FPM_CHILDREN
CONF
done
cat >"$TMP/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
error_log $TMP/nginx-error.log;
pid $TMP/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $TMP; proxy_temp_path $TMP; fastcgi_temp_path $TMP;
  uwsgi_temp_path $TMP; scgi_temp_path $TMP;
  upstream fpm { server 127.0.0.1:$P_FPM; keepalive $FPM_CHILDREN; }
  upstream app { server 127.0.0.1:$P_UP; keepalive 32; }
  server {
    listen 127.0.0.1:$P_NF;
    root $TMP/www;
    location ~ \.php$ {
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
      fastcgi_keep_conn on;
      fastcgi_pass fpm;
    }
  }
  server {
    listen 127.0.0.1:$P_NP;
    location / {
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_pass http://app;
    }
  }
}
CONF

taskset -c 1 "$FPM_BIN" -F -R -n -y "$TMP/fpm-$P_FPM.conf" >/dev/null 2>&1 &
FPM=$!
taskset -c 1 "$FPM_BIN" -F -R -n -y "$TMP/fpm-$P_FPM2.conf" >/dev/null 2>&1 &
FPM2=$!
PORT=$P_UP taskset -c 1 node peers/bare-net.mjs >/dev/null 2>&1 &
UP=$!
taskset -c 0 nginx -c "$TMP/nginx.conf" >/dev/null 2>&1 &
NG=$!
MODE=fastcgi PORT=$P_RF FPM=127.0.0.1:$P_FPM2 FCGI_CONNECTIONS=$FPM_CHILDREN ROOT="$TMP/www" taskset -c 0 node peers/rapid-interop.mjs >/dev/null 2>&1 &
RF=$!
MODE=proxy PORT=$P_RP UPSTREAM=http://127.0.0.1:$P_UP taskset -c 0 node peers/rapid-interop.mjs >/dev/null 2>&1 &
RP=$!
trap 'kill $FPM $FPM2 $UP $NG $RF $RP 2>/dev/null || true; sleep 0.5; rm -rf "$TMP"' EXIT
sleep 0.5
for u in "http://127.0.0.1:$P_NF/hello.php" "http://127.0.0.1:$P_RF/hello.php" \
  "http://127.0.0.1:$P_NP/" "http://127.0.0.1:$P_RP/"; do
  wait_url "$u"
  [ "$(curl -fs "$u")" = "Hello, World!" ] || { echo "wrong answer from $u"; exit 1; }
done

# one run: url pid -> "rps cpu_us_per_request"
measure() {
  local t0 t1 out n rps
  t0=$(cpu_ticks "$2")
  out=$(taskset -c 1 wrk -t1 -c"$CONNS" -d"$DURATION" "$1")
  t1=$(cpu_ticks "$2")
  n=$(echo "$out" | awk '/requests in/ {print $1}')
  rps=$(echo "$out" | awk '/^Requests\/sec/ {print $2}')
  if [ -z "$n" ] || [ "$n" = 0 ]; then echo "0 0"; return; fi
  echo "$rps $(echo "($t1 - $t0) * $TICK_US / $n" | bc -l)"
}

{
  echo "# Interop handlers vs nginx, $(date +%F)"
  echo
  echo "Rapid $(git rev-parse --short HEAD 2>/dev/null || echo '?'), node $(node --version), $(nginx -v 2>&1 | sed 's/.*: //'), $("$FPM_BIN" -v | head -1 | cut -d' ' -f1-2)."
  echo "Front servers on CPU 0; one php-fpm pool per front ($FPM_CHILDREN children each, as many kept-alive connections), the bare upstream and wrk on CPU 1."
  echo
  echo "    flock /tmp/rapid-bench.lock bench/interop.sh   # DURATION=$DURATION CONNS=$CONNS REPS=$REPS"
  echo
  echo '```'
  echo "wrk -t1 -c$CONNS -d$DURATION, $REPS interleaved runs, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  printf '%-9s %12s %12s %7s | %14s %14s %7s\n' scenario 'nginx req/s' 'rapid req/s' ratio 'nginx us/req' 'rapid us/req' ratio
  for sc in fastcgi proxy; do
    if [ $sc = fastcgi ]; then NU="http://127.0.0.1:$P_NF/hello.php" RU="http://127.0.0.1:$P_RF/hello.php" RPID=$RF
    else NU="http://127.0.0.1:$P_NP/" RU="http://127.0.0.1:$P_RP/" RPID=$RP; fi
    taskset -c 1 wrk -t1 -c"$CONNS" -d2s "$NU" >/dev/null
    taskset -c 1 wrk -t1 -c"$CONNS" -d2s "$RU" >/dev/null
    nr=() nc=() rr=() rc=()
    for _ in $(seq 1 "$REPS"); do
      read -r a b <<<"$(measure "$NU" "$NG")"; nr+=("$a") nc+=("$b")
      read -r a b <<<"$(measure "$RU" "$RPID")"; rr+=("$a") rc+=("$b")
    done
    N=$(printf '%s\n' "${nr[@]}" | median) R=$(printf '%s\n' "${rr[@]}" | median)
    NC=$(printf '%s\n' "${nc[@]}" | median) RC=$(printf '%s\n' "${rc[@]}" | median)
    printf '%-9s %12.0f %12.0f %6.2fx | %14.2f %14.2f %6.2fx\n' "$sc" "$N" "$R" \
      "$(echo "$R / $N" | bc -l)" "$NC" "$RC" "$(echo "$NC / $RC" | bc -l)"
    echo "          runs: nginx ${nr[*]} | rapid ${rr[*]}"
  done
  echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo '```'
} | tee "$OUT"
