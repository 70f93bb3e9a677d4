#!/usr/bin/env bash
# HTTPS load run with keep-alive: GET /healthz, then POST /v1/certificates, then POST /v1/verify
# with a real seal, against the release binary in one run, with wrk (Debian package, installed if
# missing). Prints requests/s, latency percentiles and the ratios to healthz. Bounded in time;
# loopback only.
#
#   bash benches/load.sh [seconds per run, default 10] [connections, default 16]
#
# KPCERT_BIN=/path/to/kpcert runs another build (to compare two versions in one session);
# by default the release binary of this checkout is built and used.
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-10}
CONN=${2:-16}
PORT=${KPCERT_LOAD_PORT:-18743}
if ! command -v wrk >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
if [ -z "${KPCERT_BIN:-}" ]; then
  cargo build --release --quiet
fi
BIN=${KPCERT_BIN:-$PWD/target/release/kpcert}
T=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$T"' EXIT
export KPCERT_DATA_DIR=$T/data KPCERT_KEYS_DIR=$T/keys
TOKEN=$("$BIN" authority add --participant BW --name "Load test authority" --json |
  sed -E 's/.*"token":"([^"]+)".*/\1/')
"$BIN" serve --listen 127.0.0.1:$PORT --tls-self-signed --public-rate-limit 0 --max-connections-per-address 0 2>"$T/server.log" &
SERVER=$!
for _ in $(seq 100); do
  curl -skf https://localhost:$PORT/healthz >/dev/null && break
  sleep 0.1
done
SIZE0=$(curl -sk https://localhost:$PORT/v1/ledger/checkpoint | sed -n 2p)

echo "== GET /healthz ($CONN connections, ${DUR}s)"
wrk -t2 -c"$CONN" -d"${DUR}s" --latency https://localhost:$PORT/healthz | tee "$T/healthz.txt"
echo "== POST /v1/certificates ($CONN connections, ${DUR}s)"
KPCERT_TOKEN=$TOKEN wrk -t2 -c"$CONN" -d"${DUR}s" --latency -s benches/issue.lua \
  https://localhost:$PORT/v1/certificates | tee "$T/issue.txt"

SIZE1=$(curl -sk https://localhost:$PORT/v1/ledger/checkpoint | sed -n 2p)
# The record answers its parties only: the issuer reads its own certificate.
QR=$(curl -sk -H "Authorization: Bearer $TOKEN" https://localhost:$PORT/v1/certificates/BW-$(date -u +%Y)-000001 |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["qr"])')
echo "== POST /v1/verify ($CONN connections, ${DUR}s)"
KPCERT_QR=$QR wrk -t2 -c"$CONN" -d"${DUR}s" --latency -s benches/verify.lua \
  https://localhost:$PORT/v1/verify | tee "$T/verify.txt"
V=$(awk '/Requests\/sec/ {print $2}' "$T/verify.txt")
VNON2XX=$(awk '/Non-2xx/ {print $5}' "$T/verify.txt")
H=$(awk '/Requests\/sec/ {print $2}' "$T/healthz.txt")
I=$(awk '/Requests\/sec/ {print $2}' "$T/issue.txt")
NON2XX=$(awk '/Non-2xx/ {print $5}' "$T/issue.txt")
echo "== summary"
echo "healthz: $H req/s; issuance: $I certificates/s; ratio issuance/healthz: $(python3 -c "print(f'{$I/$H:.2f}')")"
echo "verification: $V req/s; ratio verification/healthz: $(python3 -c "print(f'{$V/$H:.2f}')"); non-2xx: ${VNON2XX:-0}"
echo "certificates recorded during the run: $((SIZE1 - SIZE0)); non-2xx answers: ${NON2XX:-0}"
echo "disk: $(du -sb "$T/data" | cut -f1) bytes for $SIZE1 entries"
