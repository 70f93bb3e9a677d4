-- wrk script: POST /v1/certificates/{number}/import-confirmation for consecutive certificates,
-- each once: KPCERT_PREFIX (e.g. BW-2026), serials from KPCERT_FIRST, the importing authority's
-- token in KPCERT_TOKEN, received on KPCERT_TODAY. Thread k of n takes serials first+k, +n, ...
local threads = {}
function setup(thread)
  thread:set("offset", #threads)
  table.insert(threads, thread)
end
function init(args)
  nthreads = #threads
  step = 0
  first = tonumber(os.getenv("KPCERT_FIRST"))
  prefix = os.getenv("KPCERT_PREFIX")
  headers = {["Content-Type"] = "application/json",
             ["Authorization"] = "Bearer " .. os.getenv("KPCERT_TOKEN")}
  body = '{"received_on":"' .. os.getenv("KPCERT_TODAY") .. '","parcels":3,' ..
         '"items":[{"hs_code":"7102.10","carats":"1520.35"}]}'
end
function request()
  local serial = first + (offset or 0) + step * 2
  step = step + 1
  return wrk.format("POST", string.format("/v1/certificates/%s-%06d/import-confirmation", prefix, serial), headers, body)
end
