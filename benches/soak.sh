#!/usr/bin/env bash
# A bounded soak of the release binary over HTTPS on loopback: issuance and verification under
# wrk, plus a loop of inclusion proofs, entry pages, exports and full audits by URL, for a
# sustained run, with the server's memory, file descriptors and threads sampled every 10 s.
# Prints the samples and the steady state; exits non-zero if any answer was a 5xx or an audit
# failed.
#
#   bash benches/soak.sh [seconds, default 600]
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-600}
PORT=${KPCERT_SOAK_PORT:-18744}
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
if [ -z "${KPCERT_BIN:-}" ]; then cargo build --release --quiet; fi
BIN=${KPCERT_BIN:-$PWD/target/release/kpcert}
T=$(mktemp -d)
trap 'kill $SERVER $W1 $W2 $LOOP 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$T"' EXIT
export KPCERT_DATA_DIR=$T/data KPCERT_KEYS_DIR=$T/keys KPCERT_LOG=warn
TOKEN=$("$BIN" authority add --participant BW --name "Soak authority" --json |
  sed -E 's/.*"token":"([^"]+)".*/\1/')
"$BIN" serve --listen 127.0.0.1:$PORT --tls-self-signed --public-rate-limit 0 --max-connections-per-address 0 2>"$T/server.log" &
SERVER=$!
B=https://localhost:$PORT
for _ in $(seq 100); do curl -skf $B/healthz >/dev/null && break; sleep 0.1; done
curl -sk -X POST $B/v1/certificates -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d @<(python3 -c 'import json; print(json.dumps({"exporter":{"name":"Okavango Diamond Company","address":"Plot 123, Gaborone, Botswana"},"importer":{"name":"Desert Rough DMCC","address":"Almas Tower, Dubai, UAE"},"destination":"AE","origin":{"countries":["BW"]},"parcels":3,"items":[{"hs_code":"7102.10","carats":"1520.35","value_usd":"845000.00"}]}))') >"$T/first.json"
QR=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["qr"])' "$T/first.json")
KPCERT_TOKEN=$TOKEN wrk -t1 -c4 -d"${DUR}s" -s benches/issue.lua $B/v1/certificates >"$T/issue.txt" 2>&1 &
W1=$!
KPCERT_QR=$QR wrk -t1 -c4 -d"${DUR}s" -s benches/verify.lua $B/v1/verify >"$T/verify.txt" 2>&1 &
W2=$!
(
  end=$((SECONDS + DUR)); n=0; fails=0
  while [ $SECONDS -lt $end ]; do
    size=$(curl -sk $B/v1/ledger/checkpoint | sed -n 2p)
    for s in $(curl -sk -o /dev/null -w '%{http_code}\n' "$B/v1/ledger/proof/inclusion?index=$((RANDOM % size))" \
               "$B/v1/ledger/entries?start=$((RANDOM % size))&limit=1000" \
               "$B/v1/ledger/proof/consistency?from=$((1 + RANDOM % size))"); do
      case $s in 5*) fails=$((fails + 1));; esac
    done
    if [ $((n % 10)) -eq 0 ]; then
      curl -sk -o /dev/null $B/v1/ledger/export || fails=$((fails + 1))
      "$BIN" audit --url $B --cacert "$T/keys/tls-self-signed.crt" --state "$T/audit.state" --json \
        >>"$T/audits.jsonl" 2>>"$T/audit.err" || fails=$((fails + 1))
    fi
    n=$((n + 1)); sleep 1
  done
  echo "$fails" >"$T/loop.fails"
) &
LOOP=$!
echo "seconds  entries  rss_kb  fds  threads"
start=$SECONDS
while [ $((SECONDS - start)) -lt "$DUR" ]; do
  sleep 10
  size=$(curl -sk $B/v1/ledger/checkpoint | sed -n 2p)
  rss=$(awk '/VmRSS/ {print $2}' /proc/$SERVER/status)
  fds=$(ls /proc/$SERVER/fd | wc -l)
  threads=$(awk '/Threads/ {print $2}' /proc/$SERVER/status)
  echo "$((SECONDS - start))  $size  $rss  $fds  $threads"
done
wait $W1 $W2 $LOOP || true
echo "== issuance"; grep -E "Requests/sec|Non-2xx|Socket errors" "$T/issue.txt" || true
echo "== verification"; grep -E "Requests/sec|Non-2xx|Socket errors" "$T/verify.txt" || true
AUDITS=$(grep -c '"ok":true' "$T/audits.jsonl" || true)
echo "== audits by URL that passed: $AUDITS of $(wc -l <"$T/audits.jsonl")"
echo "== 5xx or failures in the proof/page/export/audit loop: $(cat "$T/loop.fails")"
grep -q "Non-2xx" "$T/issue.txt" "$T/verify.txt" && exit 1
[ "$(cat "$T/loop.fails")" = 0 ]
