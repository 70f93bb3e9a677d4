-- wrk script: POST /v1/verify, each request a different seal (one QR text a line in
-- KPCERT_QR_FILE), so that no signature was verified before (issue 14's first scans). Thread k
-- of n takes lines k+1, k+1+n, ...; past the end it starts again (the load run prints how many
-- requests it made for how many seals). The requests are built once, before the run, so that
-- the client costs about what a fixed request costs it (building each one in Lua cost wrk
-- 33 us a request against 13 us for healthz, out of the same two cores as the server).
local threads = {}
function setup(thread)
  thread:set("offset", #threads)
  table.insert(threads, thread)
end
function init(args)
  local headers = {["Content-Type"] = "application/json"}
  local all = {}
  for line in io.lines(os.getenv("KPCERT_QR_FILE")) do
    table.insert(all, line)
  end
  -- This thread's share, in its order: lines offset+1, offset+1+n, ... (n = 2 threads).
  requests = {}
  local i = (offset or 0) + 1
  while i <= #all do
    table.insert(requests, wrk.format("POST", "/v1/verify", headers, '{"qr":"' .. all[i] .. '"}'))
    i = i + 2
  end
  step = 0
end
function request()
  step = step + 1
  return requests[(step - 1) % #requests + 1]
end
