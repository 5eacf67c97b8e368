#!/usr/bin/env bash
# Builds toxiproxy, the TCP fault proxy the fault campaign puts between the service replicas and MariaDB and Redis
# (latency, connections reset or cut after a number of bytes, bandwidth limits), from its pinned Go module:
#
#   scripts/toxiproxy.sh build      build toxiproxy-server into the versioned cache (instant when cached)
#   scripts/toxiproxy.sh bin-dir    print the directory holding toxiproxy-server
#
# The binary lives in $TICKETING_CACHE/toxiproxy/<version>/bin (TICKETING_CACHE defaults to ~/.cache/ticketing),
# built with `go install` from github.com/Shopify/toxiproxy/v2 at TOXIPROXY_VERSION (about half a minute cold); the
# Rust harness `ticketing_testkit::toxiproxy` starts it and drives it through its HTTP API.
set -euo pipefail

TOXIPROXY_VERSION=v2.12.0
TOXIPROXY_MODULE=github.com/Shopify/toxiproxy/v2

TICKETING_CACHE="${TICKETING_CACHE:-$HOME/.cache/ticketing}"
CACHE_ROOT="$TICKETING_CACHE/toxiproxy/$TOXIPROXY_VERSION"
BIN_DIR="$CACHE_ROOT/bin"

log() { printf '[toxiproxy] %s\n' "$*" >&2; }
die() { printf '[toxiproxy] ERROR: %s\n' "$*" >&2; exit 1; }

build() {
  if [[ -x "$BIN_DIR/toxiproxy-server" ]]; then
    log "toxiproxy $TOXIPROXY_VERSION is cached"
    return
  fi
  # Go is often installed in /usr/local/go without being on the PATH of a non-login shell.
  if ! command -v go >/dev/null && [[ -x /usr/local/go/bin/go ]]; then PATH="/usr/local/go/bin:$PATH"; fi
  command -v go >/dev/null || die "Go is required to build toxiproxy (https://go.dev/dl/)"
  mkdir -p "$CACHE_ROOT"
  # Two builds at once (say, a test run and a human) would share the build directory; the second waits.
  exec 9>"$CACHE_ROOT/.build.lock"
  flock -n 9 || { log "waiting for another build of toxiproxy to finish ..."; flock 9; }
  [[ -x "$BIN_DIR/toxiproxy-server" ]] && return
  local build="$CACHE_ROOT/build" started=$SECONDS
  rm -rf "$build"
  mkdir -p "$build" "$BIN_DIR"
  log "building toxiproxy $TOXIPROXY_VERSION ..."
  GOBIN="$build" go install -trimpath -ldflags "-s -w -X $TOXIPROXY_MODULE.Version=$TOXIPROXY_VERSION" \
    "$TOXIPROXY_MODULE/cmd/server@$TOXIPROXY_VERSION"
  mv -f "$build/server" "$BIN_DIR/toxiproxy-server"
  rm -rf "$build"
  log "built toxiproxy $TOXIPROXY_VERSION in $((SECONDS - started)) s"
}

case "${1:-}" in
  build) build ;;
  bin-dir) printf '%s\n' "$BIN_DIR" ;;
  *)
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}" >&2
    exit 2
    ;;
esac
