-- wrk script: POST /v1/verify, each request a different seal (one QR text a line in
-- KPCERT_QR_FILE), so that no signature was verified before (issue 14's first scans). Thread k
-- of n takes lines k+1, k+1+n, ...; past the end it starts again (the load run prints how many
-- requests it made for how many seals).
local threads = {}
function setup(thread)
  thread:set("offset", #threads)
  table.insert(threads, thread)
end
function init(args)
  nthreads = #threads
  qrs = {}
  for line in io.lines(os.getenv("KPCERT_QR_FILE")) do
    table.insert(qrs, line)
  end
  step = 0
  headers = {["Content-Type"] = "application/json"}
end
function request()
  local i = ((offset or 0) + step * 2) % #qrs + 1
  step = step + 1
  return wrk.format("POST", "/v1/verify", headers, '{"qr":"' .. qrs[i] .. '"}')
end
