#!/usr/bin/env bash
# Builds kpverify, the independent Go cross-check of the kpcert ledger, fully offline.
#
#   tests/go/build.sh [OUTPUT]        (default OUTPUT: <crate root>/target/kpverify)
#
# Needs the Debian packages golang-go and golang-golang-x-mod-dev:
#   apt-get install -y golang-go golang-golang-x-mod-dev
# Builds in GOPATH mode (GO111MODULE=off) against the x/mod source Debian installs under
# /usr/share/gocode/src; nothing is downloaded (GOPROXY=off, GOTOOLCHAIN=local).
# Set KPVERIFY_GOPATH to use another GOPATH holding src/golang.org/x/mod.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
crate_root="$(cd "$here/../.." && pwd)"
out="${1:-$crate_root/target/kpverify}"
gopath="${KPVERIFY_GOPATH:-/usr/share/gocode}"

die() {
    echo "build.sh: error: $*" >&2
    exit 1
}

go_bin="$(command -v go || true)"
if [[ -z "$go_bin" && -x /usr/lib/go/bin/go ]]; then
    go_bin=/usr/lib/go/bin/go
fi
[[ -n "$go_bin" ]] || die "Go is not installed (apt-get install -y golang-go golang-golang-x-mod-dev)"

for pkg in note tlog; do
    dir="$gopath/src/golang.org/x/mod/sumdb/$pkg"
    compgen -G "$dir/*.go" >/dev/null ||
        die "golang.org/x/mod/sumdb/$pkg source not found in $dir (apt-get install -y golang-golang-x-mod-dev, or set KPVERIFY_GOPATH)"
done

# A private, writable build cache: the default one may live in an unwritable or absent $HOME.
cache="$(mktemp -d "${TMPDIR:-/tmp}/kpverify-gocache.XXXXXX")"
trap 'rm -rf "$cache"' EXIT

mkdir -p "$(dirname "$out")"
case "$out" in
/*) ;;
*) out="$PWD/$out" ;;
esac

# GOFLAGS is cleared on purpose: -mod=... is a module-mode flag and is neither needed nor
# accepted in GOPATH mode. CGO is off so no C compiler is needed (pure Go DNS resolver).
(
    cd "$here/kpverify"
    env GO111MODULE=off GOPATH="$gopath" GOFLAGS= GOPROXY=off GOTOOLCHAIN=local \
        GOCACHE="$cache" CGO_ENABLED=0 \
        "$go_bin" build -trimpath -o "$out" .
)
echo "build.sh: built $out with $("$go_bin" version)"
