-- wrk script: POST /v1/verify with the scanned QR text in KPCERT_QR.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"qr":"' .. os.getenv("KPCERT_QR") .. '"}'
