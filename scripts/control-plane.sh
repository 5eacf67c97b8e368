#!/usr/bin/env bash
# Builds, starts and stops a local Kubernetes control plane for tests and humans:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok (one fake node), all on loopback.
#
#   scripts/control-plane.sh build      build every binary into the versioned cache (seconds when warm)
#   scripts/control-plane.sh bin-dir    print the directory holding the binaries (etcd, kube-*, kubectl, kwok, helm)
#   scripts/control-plane.sh start DIR  start a control plane in the background, write DIR/kubeconfig and print it
#   scripts/control-plane.sh stop DIR   stop the control plane started in DIR
#   scripts/control-plane.sh run DIR    start in the foreground until SIGTERM/SIGINT (used by `start` and by the
#                                       Rust harness ticketing_testkit::control_plane)
#
# Binaries live in $TICKETING_CACHE/k8s/<kubernetes version>/bin (TICKETING_CACHE defaults to ~/.cache/ticketing).
set -euo pipefail

KUBE_VERSION=v1.36.3
# The k8s.io staging modules (api, apimachinery, client-go, ...) carry the same minor and patch as Kubernetes.
KUBE_STAGING_VERSION=v0.36.3
ETCD_VERSION=v3.6.16
KWOK_VERSION=v0.8.0
HELM_VERSION=v4.3.1

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TICKETING_CACHE="${TICKETING_CACHE:-$HOME/.cache/ticketing}"
CACHE_ROOT="$TICKETING_CACHE/k8s/$KUBE_VERSION"
BIN_DIR="$CACHE_ROOT/bin"
KWOK_STAGES_DIR="$CACHE_ROOT/kwok-stages"
BUILD_DIR="$CACHE_ROOT/build"
KUBE_BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubectl)

log() { printf '[control-plane] %s\n' "$*" >&2; }
die() { printf '[control-plane] ERROR: %s\n' "$*" >&2; exit 1; }

source "$SCRIPT_DIR/control-plane/build.sh"
source "$SCRIPT_DIR/control-plane/cluster.sh"

usage() {
  sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

main() {
  local command="${1:-}"
  case "$command" in
    build) build_all ;;
    bin-dir) printf '%s\n' "$BIN_DIR" ;;
    start) [[ $# -eq 2 ]] || usage; start_background "$2" ;;
    stop) [[ $# -eq 2 ]] || usage; stop_background "$2" ;;
    run) [[ $# -eq 2 ]] || usage; run_foreground "$2" ;;
    *) usage ;;
  esac
}

main "$@"
