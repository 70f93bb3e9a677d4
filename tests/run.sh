#!/usr/bin/env bash
# The whole test suite, from a fresh machine that has only the Rust toolchain.
# Installs the Debian packages the tests use when they are missing, builds the independent Go
# verifier (GOPATH mode, no network), then runs every Rust test.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v go >/dev/null 2>&1 || need+=(golang-go)
[ -d /usr/share/gocode/src/golang.org/x/mod/sumdb ] || need+=(golang-golang-x-mod-dev)
command -v zbarimg >/dev/null 2>&1 || need+=(zbar-tools)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  echo "tests/run.sh: installing ${need[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ -f tests/go/build.sh ]; then
  bash tests/go/build.sh target/kpverify
  export KPCERT_GO_VERIFIER="$PWD/target/kpverify"
fi

# api/openapi.yaml must be a valid OpenAPI 3.1 document (its routes are kept in step with the
# server by a Rust test); checked with the openapi-spec-validator package from PyPI.
if ! python3 -c 'import openapi_spec_validator' >/dev/null 2>&1; then
  python3 -m pip install -q --disable-pip-version-check openapi-spec-validator >/dev/null
fi
python3 - <<'PY'
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename
spec, _ = read_from_filename("api/openapi.yaml")
validate(spec)
print("api/openapi.yaml: valid OpenAPI 3.1")
PY

# The tests that need Go, zbarimg or Chromium fail (never pass silently) when the tool is
# missing; this script installs them above.
cargo test
