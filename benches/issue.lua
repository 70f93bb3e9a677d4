-- wrk script: POST /v1/certificates with the README example and the token in KPCERT_TOKEN.
-- KPCERT_DESTINATION (default AE) replaces the destination: the load run's issuance floor sends
-- ZZ, which no participant has, so that validation refuses the same request after its
-- authentication, parsing and checks.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("KPCERT_TOKEN")
wrk.body = '{"exporter":{"name":"Okavango Diamond Company","address":"Plot 123, Gaborone, Botswana"},"importer":{"name":"Desert Rough DMCC","address":"Almas Tower, Dubai, UAE"},"destination":"' .. (os.getenv("KPCERT_DESTINATION") or "AE") .. '","origin":{"countries":["BW"]},"parcels":3,"items":[{"hs_code":"7102.10","carats":"1520.35","value_usd":"845000.00"}]}'
