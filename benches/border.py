"""Latency at a realistic border load: N verifications of one scanned QR, one every 1/RATE s,
over one warm keep-alive connection (a customs office's phone or PC). Prints p50 and p99 in ms.

    python3 benches/border.py URL QR [N=50] [RATE=5]
"""
import http.client, json, ssl, sys, time, urllib.parse

url, qr = sys.argv[1], sys.argv[2]
n = int(sys.argv[3]) if len(sys.argv) > 3 else 50
rate = float(sys.argv[4]) if len(sys.argv) > 4 else 5.0
u = urllib.parse.urlparse(url)
if u.scheme == "https":
    conn = http.client.HTTPSConnection(u.hostname, u.port, context=ssl._create_unverified_context())
else:
    conn = http.client.HTTPConnection(u.hostname, u.port)
body = json.dumps({"qr": qr})
# One untimed request opens the connection (TLS handshake): the figures are of a warm one.
conn.request("POST", "/v1/verify", body, {"Content-Type": "application/json"})
conn.getresponse().read()
times = []
for i in range(n):
    start = time.perf_counter()
    conn.request("POST", "/v1/verify", body, {"Content-Type": "application/json"})
    resp = conn.getresponse()
    resp.read()
    times.append((time.perf_counter() - start) * 1000)
    if resp.status != 200:
        sys.exit(f"verification answered {resp.status}")
    time.sleep(max(0.0, 1 / rate - times[-1] / 1000))
times.sort()
p = lambda q: times[min(len(times) - 1, int(q * len(times)))]
print(f"border_p50_ms={p(0.50):.2f} border_p99_ms={p(0.99):.2f} n={n} rate={rate}/s")
