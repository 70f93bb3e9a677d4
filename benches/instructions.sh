#!/usr/bin/env bash
# Instruction counts (valgrind callgrind: repeatable on a noisy machine) of two kpcert builds
# doing the same work, for before/after comparisons of a change:
#   - issuance in-process: `demo populate` of N certificates minus a 1-certificate run
#     (validation, numbering, canonical encoding, signature, entry, rules, durable commit);
#   - audit of the same export file of the first build's N-certificate ledger.
#
#   bash benches/instructions.sh OLD_BINARY NEW_BINARY [N, default 3000]
#
# --fair-sched=yes: sled's lazy statics spin on a lock another thread holds, which callgrind's
# default scheduler may never let run.
set -euo pipefail
OLD=$(realpath "$1"); NEW=$(realpath "$2"); N=${3:-3000}
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind >/dev/null; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
count() { # label, folder, command...
  local label=$1 dir=$2; shift 2
  mkdir -p "$dir"
  (cd "$dir" && valgrind --tool=callgrind --fair-sched=yes --callgrind-out-file=/dev/null "$@" 2>&1 |
    sed -n 's/.*I   refs: *//p' | tr -d ,)
}
for which in OLD NEW; do
  BIN=${!which}
  one=$(count "$which" "$T/$which-1" "$BIN" demo populate --certificates 1)
  many=$(count "$which" "$T/$which-n" "$BIN" demo populate --certificates "$N")
  echo "$which issuance: $(( (many - one) / (N - 1) )) instructions per certificate"
done
(cd "$T/OLD-n" && "$OLD" export --out "$T/ledger.export" >/dev/null 2>&1)
for which in OLD NEW; do
  BIN=${!which}
  total=$(count "$which" "$T/OLD-n" "$BIN" audit --file "$T/ledger.export")
  echo "$which audit: $(( total / (N + 65) )) instructions per entry ($((N + 65)) entries)"
done
