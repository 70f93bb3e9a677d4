#!/usr/bin/env bash
# Load run against the cost model of issue 14, everything measured in the same run:
#   1. the raw limits on one core (benches/calibrate.rs: ed25519 sign, verify_strict, batch);
#   2. for HTTPS and plain HTTP on loopback, and for each connection count: GET /healthz,
#      POST /v1/certificates, POST .../import-confirmation (each certificate once),
#      POST /v1/verify of seals never verified before (first scans), of a valid certificate
#      again and again (its signature remembered) and of an imported one (with its history);
#      Two floors, each the same request refused at its first check that needs no signature
#      (a verification whose seal is not base32; an issuance whose destination is no
#      participant, refused by validation after authentication and parsing): what the HTTP
#      path costs before the work the model counts. With it a path's ceiling is printed: the
#      ratio it would reach if everything but its signatures past that floor cost nothing.
#   3. verification latency at a realistic border load (a few requests a second);
#   4. the audit of the ledger those runs wrote: `kpcert export` (public level) and
#      `kpcert audit --file`, whose limit is one batch-verified signature an entry on each of
#      the 2 cores (every certificate and confirmation entry carries one signature); three
#      audits, each after its own calibration, and their median.
# The limit of a path is what 2 cores, shared by wrk and the server, can do if a request costs a
# healthz round trip (t_h = 2 / healthz_rate core-seconds) plus its signatures: issuance two
# signs, confirmation one sign, verification one verify_strict. Prints each rate, its limit and
# the ratio. wrk (Debian package) is installed if missing. Loopback only; bounded in time.
#
#   bash benches/load.sh [seconds per run, default 10] [connection counts, default "16 128"]
#                        [schemes, default "https http"]
#
# KPCERT_BIN=/path/to/kpcert runs another build (to compare two versions in one session);
# by default the release binary of this checkout is built and used.
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-10}
CONNS=${2:-16 128}
SCHEMES=${3:-https http}
PORT=${KPCERT_LOAD_PORT:-18743}
if ! command -v wrk >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
if [ -z "${KPCERT_BIN:-}" ]; then
  cargo build --release --quiet
fi
BIN=${KPCERT_BIN:-$PWD/target/release/kpcert}
T=$(mktemp -d)
SERVER=
DONE=
# A run that stops early (a wrk run without a rate, a server that did not start) still shows
# what it measured before the folder goes.
trap 'kill $SERVER 2>/dev/null || true; wait 2>/dev/null || true
  if [ -z "$DONE" ] && [ -s "$T/summary.txt" ]; then echo "== stopped early; summary so far"; cat "$T/summary.txt"; fi
  rm -rf "$T"' EXIT
export KPCERT_DATA_DIR=$T/data KPCERT_KEYS_DIR=$T/keys

# The host's speed drifts by 2x within minutes: the raw limits are measured again right before
# each block of runs (each scheme and connection count, and the audit) and used for that block.
cargo bench --quiet --no-run --bench calibrate 2>/dev/null
calibrate() {
  echo "== raw limits on one core (cargo bench --bench calibrate)"
  cargo bench --quiet --bench calibrate 2>/dev/null | tee "$T/calibrate.txt"
  S=$(sed -n 's/^sign_per_s=//p' "$T/calibrate.txt")
  VS=$(sed -n 's/^verify_strict_per_s=//p' "$T/calibrate.txt")
  B=$(sed -n 's/^batch_verify_per_s=//p' "$T/calibrate.txt")
}

token() { sed -E 's/.*"token":"([^"]+)".*/\1/'; }
BW=$("$BIN" authority add --participant BW --name "Load test exporter" --json | token)
AE=$("$BIN" authority add --participant AE --name "Load test importer" --json | token)
YEAR=$(date -u +%Y)
TODAY=$(date -u +%F)

start_server() { # $1: https or http
  local tls=()
  [ "$1" = https ] && tls=(--tls-self-signed)
  "$BIN" serve --listen 127.0.0.1:$PORT "${tls[@]}" --public-rate-limit 0 \
    --max-connections-per-address 0 2>>"$T/server.log" &
  SERVER=$!
  for _ in $(seq 100); do
    curl -skf "$1://localhost:$PORT/healthz" >/dev/null && return
    sleep 0.1
  done
  echo "the server did not start:"; cat "$T/server.log"; exit 1
}
stop_server() { kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=; }
verified() { # seal signatures verified (not remembered) since the server started
  curl -sk "$URL/metrics" | awk '/^kpcert_verify_seal_signature_verified_total/ {print $2}'
}
rate() { awk '/Requests\/sec/ {print $2}' "$1"; }
non2xx() { awk '/Non-2xx/ {print $5}' "$1" | grep . || echo 0; }
p() { awk -v q="$2" '$1 == q"%" {print $2}' "$1"; }
next_serial() { # the serial GET /v1/certificates/next would give BW
  curl -sk -H "Authorization: Bearer $BW" "$URL/v1/certificates/next" |
    python3 -c 'import json,sys; print(int(json.load(sys.stdin)["number"].split("-")[2]))'
}
qr_of() { curl -sk -H "Authorization: Bearer $BW" "$URL/v1/certificates/$1" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["qr"])'; }
run() { # name connections seconds url [wrk args...]: runs wrk, prints and keeps its output
  local name=$1 c=$2 d=$3 u=$4; shift 4
  echo "== $name ($c connections, ${d}s, $SCHEME)"
  wrk -t2 -c"$c" -d"${d}s" --latency "$@" "$u" | tee "$T/$name.txt"
}

SUMMARY=$T/summary.txt
printf '%-6s %5s %-28s %10s %10s %7s %8s %8s %7s\n' scheme conn path "rate/s" "limit/s" ratio \
  "p50" "p99" non2xx >"$SUMMARY"
line() { # name: a summary line with the cost-model limit of the path
  local f=$T/$1.txt r lim
  r=$(rate "$f")
  case $1 in
    healthz) lim=$H ;;
    issuance) lim=$(python3 -c "print(2/(2/$H + 2/$S))") ;;
    confirmation) lim=$(python3 -c "print(2/(2/$H + 1/$S))") ;;
    verify*) lim=$(python3 -c "print(2/(2/$H + 1/$VS))") ;;
    issuance-floor) lim=$(python3 -c "print(2/(2/$H + 2/$S))") ;;
  esac
  printf '%-6s %5s %-28s %10.0f %10.0f %7.2f %8s %8s %7s\n' "$SCHEME" "$C" "$1" "$r" "$lim" \
    "$(python3 -c "print($r/$lim)")" "$(p "$f" 50)" "$(p "$f" 99)" "$(non2xx "$f")" >>"$SUMMARY"
}

for SCHEME in $SCHEMES; do
  start_server "$SCHEME"
  URL=$SCHEME://localhost:$PORT
  for C in $CONNS; do
    calibrate
    echo "$SCHEME $C: one core signs $S/s, verify_strict $VS/s, batch-verifies $B/s" >>"$SUMMARY"
    run healthz "$C" "$DUR" "$URL/healthz"
    H=$(rate "$T/healthz.txt")
    FIRST=$(next_serial)
    KPCERT_TOKEN=$BW run issuance "$C" "$DUR" "$URL/v1/certificates" -s benches/issue.lua
    LAST=$(($(next_serial) - 1))
    # Each certificate is confirmed once: half the issuance run's time leaves enough of them.
    KPCERT_TOKEN=$AE KPCERT_PREFIX=BW-$YEAR KPCERT_FIRST=$FIRST KPCERT_TODAY=$TODAY \
      run confirmation "$C" $(((DUR + 1) / 2)) "$URL/" -s benches/confirm.lua
    # First scans: seals never verified before (their signatures are not remembered), for a
    # short run that the certificates just issued can fill: the newest half of them, which the
    # confirmation run (from the first serial on, at a lower rate, for half the time) left
    # unconfirmed, so each answer is a plain valid one.
    HALF=$(((LAST - FIRST + 1) / 2))
    N_QR=$((HALF < 30000 ? HALF : 30000))
    python3 benches/qrs.py "$URL" "$BW" "BW-$YEAR" $((LAST - N_QR + 1)) "$N_QR" "$T/qrs.txt"
    # Reading a certificate checks its stored seal, which is the seal its QR carries: the
    # fetch above left every one of these signatures remembered. A restart forgets them (the
    # seal cache lives in memory; the files stay in the page cache, as on a busy server).
    stop_server
    start_server "$SCHEME"
    KPCERT_QR_FILE=$T/qrs.txt run verify-first-scan "$C" 1 "$URL/v1/verify" -s benches/verify_first.lua
    echo "verify-first-scan: $N_QR seals for $(awk '/requests in/ {print $1}' "$T/verify-first-scan.txt") requests (any beyond the seals were repeats); signatures verified: $(verified)" >>"$SUMMARY"
    KPCERT_QR=$(qr_of "BW-$YEAR-$(printf %06d "$LAST")") \
      run verify-valid "$C" "$DUR" "$URL/v1/verify" -s benches/verify.lua
    KPCERT_QR=$(qr_of "BW-$YEAR-$(printf %06d "$FIRST")") \
      run verify-imported-history "$C" "$DUR" "$URL/v1/verify" -s benches/verify.lua
    Q=$(qr_of "BW-$YEAR-$(printf %06d "$LAST")")
    SEAL=${Q##*/S/}
    KPCERT_QR="${Q%/S/*}/S/0${SEAL:1}" run verify-floor "$C" "$DUR" "$URL/v1/verify" -s benches/verify.lua
    KPCERT_TOKEN=$BW KPCERT_DESTINATION=ZZ run issuance-floor "$C" "$DUR" "$URL/v1/certificates" -s benches/issue.lua
    for name in healthz issuance confirmation verify-first-scan verify-valid verify-imported-history \
      verify-floor issuance-floor; do
      line $name
    done
    python3 - "$H" "$S" "$VS" "$(rate "$T/verify-floor.txt")" "$(rate "$T/issuance-floor.txt")" \
      "$(rate "$T/verify-valid.txt")" >>"$SUMMARY" <<'PY'
import sys
h, s, vs, vf, isf, vv = map(float, sys.argv[1:])
print(f"ceilings: verification {(2/h + 1/vs) / (2/vf + 1/vs):.2f} (floor {vf:.0f}/s), "
      f"issuance {(2/h + 2/s) / (2/isf + 2/s):.2f} (floor {isf:.0f}/s): the ratios if each "
      "request cost its floor plus its signatures; a first scan with today's answer "
      f"{(2/h + 1/vs) / (2/vv + 1/vs):.2f}: verify-valid's cost (the answer built and sent, the "
      "signature and the record remembered) plus one verify_strict")
PY
    echo "certificates issued: $((LAST - FIRST + 1)) (serials $FIRST..$LAST)" >>"$SUMMARY"
  done
  echo "== border latency ($SCHEME): one verification every 0.2 s on a warm connection"
  python3 benches/border.py "$URL" "$(qr_of "BW-$YEAR-000001")" 50 5 | tee -a "$SUMMARY"
  stop_server
done

echo "== audit of the ledger these runs wrote (public export, kpcert audit --file)"
"$BIN" export --out "$T/ledger.export" >/dev/null
# Three audits, each right after its own calibration: the host's speed moves by more than the
# differences worth measuring, so each ratio pairs an audit with the limit measured next to it,
# and the summary gives the median of the three as well.
: >"$T/audit-ratios.txt"
for round in 1 2 3; do
  calibrate
  START=$(date +%s.%N)
  "$BIN" audit --file "$T/ledger.export" --json >"$T/audit.json"
  END=$(date +%s.%N)
  python3 - "$T/audit.json" "$START" "$END" "$B" "$round" "$T/audit-ratios.txt" >>"$SUMMARY" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
seconds = float(sys.argv[3]) - float(sys.argv[2])
rate = report["entries"] / seconds
limit = 2 * float(sys.argv[4])
print(f"audit {sys.argv[5]}: {report['entries']} entries in {seconds:.2f} s: {rate:.0f}/s, "
      f"limit {limit:.0f}/s (2 x batch verify, one core {float(sys.argv[4]):.0f}/s), "
      f"ratio {rate / limit:.2f}, ok={report['ok']}")
open(sys.argv[6], "a").write(f"{rate / limit}\n")
PY
done
python3 - "$T/audit-ratios.txt" >>"$SUMMARY" <<'PY'
import statistics, sys
ratios = [float(line) for line in open(sys.argv[1])]
print(f"audit: median ratio {statistics.median(ratios):.2f} of {len(ratios)} "
      f"({', '.join(f'{r:.2f}' for r in ratios)})")
PY

echo "== summary (limits: t_h = 2/healthz core-seconds; issuance 2 signs, confirmation 1 sign,"
echo "   verification 1 verify_strict on top; raw rates measured before each block)"
cat "$SUMMARY"
echo "disk: $(du -sb "$T/data" | cut -f1) bytes in the data folder"
DONE=1
