-- Adds nothing to the requests (no request() function, so wrk keeps its static-request fast path);
-- at the end prints one machine-readable line that bench/run.ts parses instead of wrk's prose.
-- Usage: wrk -t1 -c64 -d5s --latency -s report.lua http://127.0.0.1:8080/plaintext

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"duration_us":%d,"requests":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"min":%d,"mean":%.1f,"max":%d,"p50":%d,"p90":%d,"p99":%d}}\n',
    summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
