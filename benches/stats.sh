#!/usr/bin/env bash
# Statistics and reconciliation over a year of traffic, measured in one run (issue 13):
#   1. `kpcert demo populate --year 2025` records a generated year (default 60000 certificates,
#      the KP's yearly volume) in-process; its wall time per certificate is the cost of a commit
#      with the incremental statistics included;
#   2. `cargo bench --bench statistics` measures, in-process on the same year, what the
#      statistics add per certificate (export + import in the fold) against that commit cost,
#      and the in-process time of each query;
#   3. over plain HTTP on loopback (wrk, 2 threads, 16 connections): GET /healthz, the public
#      annual totals of the year, the complete quarterly detail (Secretariat) and the
#      reconciliation of the year (Secretariat), each as a rate and a ratio to the healthz
#      rate of the same run (the cost model's t_h: a query cannot be cheaper than a round trip).
#
#   bash benches/stats.sh [seconds per run, default 10] [certificates, default 60000]
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-10}
N=${2:-60000}
PORT=${KPCERT_LOAD_PORT:-18744}
if ! command -v wrk >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
cargo build --release --quiet
BIN=$PWD/target/release/kpcert
T=$(mktemp -d)
SERVER=
trap 'kill $SERVER 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$T"' EXIT
export KPCERT_DATA_DIR=$T/data KPCERT_KEYS_DIR=$T/keys KPCERT_LOG=warn

echo "== populate a year: $N certificates"
START=$(date +%s.%N)
"$BIN" demo populate --year 2025 --certificates "$N" 2>&1 | tail -1
END=$(date +%s.%N)
PER_CERT_US=$(echo "($END - $START) * 1000000 / $N" | bc -l)
printf "wall time per certificate (issue, confirm, void, production; statistics included): %.1f us\n" "$PER_CERT_US"
du -sh "$T/data" | sed 's/^/data folder: /'

echo "== in-process (cargo bench --bench statistics)"
KPCERT_BENCH_DATA=$T KPCERT_BENCH_COMMIT_US=$PER_CERT_US \
  cargo bench --quiet --bench statistics 2>/dev/null | grep -E "^(stats_|  time|[a-z_ ]+/)|time:" || true

TOKEN=$("$BIN" token mint --role secretariat --owner "stats bench" --days 1 2>/dev/null | grep -o 'kpat_[A-Za-z0-9_-]*' | head -1)
"$BIN" serve --listen 127.0.0.1:$PORT --insecure-plain-http --public-rate-limit 0 \
  --max-connections-per-address 0 2>>"$T/server.log" &
SERVER=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

run() { # $1 label, $2 path, $3 token or empty
  local hdr=()
  [ -n "$3" ] && hdr=(-H "Authorization: Bearer $3")
  wrk -t2 -c16 -d"${DUR}s" --latency "${hdr[@]}" "http://127.0.0.1:$PORT$2" > "$T/wrk.txt"
  local rate p50 p99
  rate=$(awk '/Requests\/sec/ {print $2}' "$T/wrk.txt")
  p50=$(awk '$1=="50%" {print $2}' "$T/wrk.txt")
  p99=$(awk '$1=="99%" {print $2}' "$T/wrk.txt")
  if grep -q "Non-2xx" "$T/wrk.txt"; then echo "$1: non-2xx answers"; cat "$T/wrk.txt"; exit 1; fi
  echo "$1|$rate|$p50|$p99"
}
echo "== over HTTP (plain, loopback, wrk -t2 -c16, ${DUR}s each)"
H=$(run healthz /healthz "")
HR=$(echo "$H" | cut -d'|' -f2)
printf "%-44s %12s %8s %8s %8s\n" path "req/s" ratio p50 p99
for line in "$H" \
  "$(run "statistics, public annual totals" "/v1/statistics?year=2025" "")" \
  "$(run "statistics, quarterly detail (Secretariat)" "/v1/statistics?period=quarter&detail=true" "$TOKEN")" \
  "$(run "reconciliation of 2025 (Secretariat)" "/v1/reconciliation?period=2025" "$TOKEN")" \
  "$(run "portal statistics page" "/statistics?year=2025&lang=en" "")"; do
  IFS='|' read -r label rate p50 p99 <<<"$line"
  printf "%-44s %12s %8.3f %8s %8s\n" "$label" "$rate" "$(echo "$rate / $HR" | bc -l)" "$p50" "$p99"
done
for p in "/v1/statistics?year=2025" "/statistics?year=2025&lang=en" "/participants?lang=en" "/?lang=ar"; do
  printf "page weight %-36s %s bytes\n" "$p" "$(curl -s "http://127.0.0.1:$PORT$p" | wc -c)"
done
