-- Pipelined requests that differ from each other, so no per-connection memo of the previous
-- request head can help: each of the `depth` requests in one write has its own path (under /p/,
-- which the bench app answers like /plaintext), its own X-Request-Id and its own Accept and
-- User-Agent values. Eight such batches are prepared and sent in turn.
-- Usage: wrk -t1 -c64 -s pipeline-distinct.lua http://127.0.0.1:8080/plaintext -- 16
-- (the URL's path is ignored; host and port are used).

local batches = {}
local n = 0

init = function(args)
  local depth = tonumber(args[1]) or 1
  for b = 1, 8 do
    local r = {}
    for i = 1, depth do
      local k = (b - 1) * depth + i
      local path = string.format('/p/item%d/%d?page=%d', k % 13, k * 7919, k % 5)
      local headers = {
        ['Accept'] = string.format('text/plain,text/html;q=0.%d,*/*;q=0.%d', k % 9 + 1, k % 7 + 1),
        ['User-Agent'] = string.format('pipeline-distinct/%d.%d', b, i),
        ['X-Request-Id'] = string.format('%08x-%04x', k * 2654435761 % 4294967296, k),
      }
      r[i] = wrk.format('GET', path, headers)
    end
    batches[b] = table.concat(r)
  end
end

request = function()
  n = n % #batches + 1
  return batches[n]
end

-- The same machine-readable summary as report.lua (wrk takes one script per run): loaded from
-- beside this file, wherever wrk is run from.
dofile((debug.getinfo(1, 'S').source:match('^@(.*[/\\])') or '') .. 'report.lua')
