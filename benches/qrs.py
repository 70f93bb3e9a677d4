"""Writes the QR texts of certificates PREFIX-FIRST .. PREFIX-(FIRST+N-1), one a line, fetched
with the issuing authority's token over one keep-alive connection (for benches/verify_first.lua).

    python3 benches/qrs.py URL TOKEN PREFIX FIRST N OUT
"""
import http.client, json, ssl, sys, urllib.parse

url, token, prefix, first, n, out = sys.argv[1:7]
u = urllib.parse.urlparse(url)
if u.scheme == "https":
    conn = http.client.HTTPSConnection(u.hostname, u.port, context=ssl._create_unverified_context())
else:
    conn = http.client.HTTPConnection(u.hostname, u.port)
with open(out, "w") as f:
    for serial in range(int(first), int(first) + int(n)):
        conn.request("GET", f"/v1/certificates/{prefix}-{serial:06d}",
                     headers={"Authorization": f"Bearer {token}"})
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            sys.exit(f"{prefix}-{serial:06d}: {resp.status}")
        f.write(json.loads(body)["qr"] + "\n")
