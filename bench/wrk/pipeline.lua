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

-- The same machine-readable summary as report.lua (wrk takes one script per run): loaded from
-- beside this file, wherever wrk is run from.
dofile((debug.getinfo(1, 'S').source:match('^@(.*[/\\])') or '') .. 'report.lua')
