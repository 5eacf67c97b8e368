#!/usr/bin/env bash
# Runs every test of the repository on this machine, installing and starting what they need:
#
#   1. MariaDB 10.11 and Redis 7 (Debian packages), private instances on free loopback ports
#   2. the Kubernetes test control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok, kubectl),
#      helm 4.3.1 and toxiproxy 2.12.0, built from pinned Go modules into $TICKETING_CACHE (about 10 minutes once per
#      machine)
#   3. cargo test over the whole workspace (service, crds, operator, bench, testkit)
#   4. the request-decoder fuzz targets for a bounded time (scripts/fuzz.sh, cargo-fuzz on the stable toolchain)
#   5. the Helm chart checks (scripts/test-helm.sh) and the Terraform checks (scripts/test-terraform.sh)
#   6. the benchmark suite in quick mode, which fails on any broken invariant (scripts/bench.sh --quick)
#   7. the fault campaign in quick mode (scripts/bench.sh faults --quick): storms with every kind of traffic under
#      Redis, MariaDB, toxiproxy, replica, lease and load faults, failing on any oversold seat, lost acknowledgement,
#      stranded hold, double booking, refusal while seats remained or broken invariant
#   8. the operator at scale in quick mode (scripts/bench.sh operator --quick): 100 TicketEvents to steady state
#
# Caches: TICKETING_CACHE (default ~/.cache/ticketing) holds the Go-built tools, the checkov venv and, unless
# CARGO_TARGET_DIR is set, the cargo target directory, so a second run on the same machine is warm.
set -euo pipefail

cd "$(dirname "$0")/.."
export TICKETING_CACHE="${TICKETING_CACHE:-$HOME/.cache/ticketing}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$TICKETING_CACHE/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
mkdir -p "$TICKETING_CACHE"

started=$SECONDS
stage() { printf '\n==== %s (at %ss)\n' "$*" "$((SECONDS - started))"; }
fail() { printf '\ntest.sh: FAILED in stage: %s\n' "$*" >&2; exit 1; }

command -v cargo >/dev/null || fail "cargo is not installed"
command -v go >/dev/null || fail "go is not installed (needed to build the control plane, helm and tflint)"

services_dir=$(mktemp -d /tmp/ticketing-services.XXXXXX)
cleanup() { scripts/test-services.sh stop "$services_dir" >/dev/null 2>&1 || true; rm -rf "$services_dir"; }
trap cleanup EXIT

stage "MariaDB and Redis"
scripts/test-services.sh start "$services_dir" || fail "MariaDB and Redis"
# shellcheck source=/dev/null
. "$services_dir/env"

stage "Kubernetes control plane, helm and toxiproxy (built once per machine)"
scripts/control-plane.sh build || fail "control plane build"
scripts/toxiproxy.sh build || fail "toxiproxy build"

stage "cargo test --workspace"
cargo test --workspace --all-features --locked || fail "cargo test"

stage "Fuzz the request decoders (10 s per target)"
scripts/fuzz.sh --seconds 10 || fail "fuzz"

stage "Helm chart checks"
scripts/test-helm.sh || fail "helm checks"

stage "Terraform checks"
scripts/test-terraform.sh || fail "terraform checks"

stage "Benchmarks, quick mode (invariants checked after every run)"
scripts/bench.sh --quick --out "$TICKETING_CACHE/bench-quick" || fail "benchmark invariants"

stage "Fault campaign, quick mode (R0-R10 and the abuse budget, checked from the database)"
scripts/bench.sh faults --quick --out "$TICKETING_CACHE/faults-quick" || fail "fault campaign"

stage "Operator at scale, quick mode (100 TicketEvents on the test control plane)"
scripts/bench.sh operator --quick --out "$TICKETING_CACHE/operator-quick" || fail "operator scale"

printf '\ntest.sh: every stage passed in %ss\n' "$((SECONDS - started))"
