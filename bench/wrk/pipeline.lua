-- Pipelined requests for wrk, as TechEmpower's plaintext test sends them: the request is
-- formatted once (method, path and headers from the command line) and repeated `depth` times in
-- one write, so each connection keeps `depth` requests in flight.
-- Usage: wrk -t1 -c64 -s pipeline.lua http://127.0.0.1:8080/plaintext -- 16

init = function(args)
  local r = {}
  local depth = tonumber(args[1]) or 1
  for i = 1, depth do
    r[i] = wrk.format()
  end
  req = table.concat(r)
end

request = function()
  return req
end

-- The same machine-readable summary as report.lua (wrk takes one script per run).
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
