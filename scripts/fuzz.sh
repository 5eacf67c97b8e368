#!/usr/bin/env bash
# Fuzzes the request decoders of ticketing-service (the crate in fuzz/) for a bounded time per target.
#
#   scripts/fuzz.sh [--seconds N] [TARGET...]     (default: 20 seconds for each target in fuzz/Cargo.toml)
#
# Installs what it needs, idempotently: cargo-fuzz $CARGO_FUZZ_VERSION into $TICKETING_CACHE/cargo-fuzz-<version>
# (TICKETING_CACHE defaults to ~/.cache/ticketing). The targets are built on the stable toolchain without a sanitizer
# (libFuzzer's coverage instrumentation only: the service has no unsafe code, and a panic is the crash), in
# cargo-fuzz's release mode, into $TICKETING_CACHE/fuzz-target, so a warm run only rebuilds what changed. Each target
# starts from its committed seed corpus fuzz/corpus/<target>, which is never written: new inputs go to
# $TICKETING_CACHE/fuzz-corpus/<target>.
# Prints the executions per target; exits 1 when a target crashes, printing the crash artifact's path and the command
# that reproduces it, and 2 when the set-up fails.
set -euo pipefail

CARGO_FUZZ_VERSION=0.13.2
cd "$(dirname "$0")/.."
root=$(pwd)

die() { echo "fuzz: $*" >&2; exit 2; }

seconds=20
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) [ $# -ge 2 ] || die "--seconds needs a value"; seconds=$2; shift 2 ;;
    --seconds=*) seconds=${1#--seconds=}; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1" ;;
    *) targets+=("$1"); shift ;;
  esac
done
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || die "--seconds must be a positive whole number, got '$seconds'"

cache="${TICKETING_CACHE:-$HOME/.cache/ticketing}"
cargo_fuzz_root="$cache/cargo-fuzz-$CARGO_FUZZ_VERSION"
cargo_fuzz="$cargo_fuzz_root/bin/cargo-fuzz"
export CARGO_TARGET_DIR="$cache/fuzz-target"
started=$SECONDS

if [ -x "$cargo_fuzz" ]; then
  echo "fuzz: cargo-fuzz $CARGO_FUZZ_VERSION cached in $cargo_fuzz_root"
else
  echo "fuzz: installing cargo-fuzz $CARGO_FUZZ_VERSION into $cargo_fuzz_root"
  install_started=$SECONDS
  # Its own target directory, so the tool's build does not land in (or invalidate) the fuzz targets' one.
  CARGO_TARGET_DIR="$cache/cargo-fuzz-build" cargo install --locked --quiet --version "$CARGO_FUZZ_VERSION" \
    --root "$cargo_fuzz_root" cargo-fuzz || die "cargo install cargo-fuzz $CARGO_FUZZ_VERSION failed"
  rm -rf "$cache/cargo-fuzz-build"
  [ -x "$cargo_fuzz" ] || die "cargo-fuzz is missing after the install"
  echo "fuzz: cargo-fuzz installed in $((SECONDS - install_started)) s"
fi

if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <("$cargo_fuzz" fuzz list --fuzz-dir fuzz)
  [ ${#targets[@]} -gt 0 ] || die "cargo fuzz list found no targets in fuzz/"
fi

# Everything below runs `cargo fuzz` the way cargo runs a subcommand: the binary with `fuzz` as its first argument.
fuzz() { "$cargo_fuzz" fuzz "$1" --fuzz-dir fuzz --sanitizer none "${@:2}"; }

echo "fuzz: building the fuzz targets into $CARGO_TARGET_DIR (the first build takes minutes, later ones seconds)"
build_started=$SECONDS
fuzz build || die "building the fuzz targets failed"
echo "fuzz: built in $((SECONDS - build_started)) s"

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
failed=()
for target in "${targets[@]}"; do
  seeds="$root/fuzz/corpus/$target"
  [ -d "$seeds" ] || die "no seed corpus at fuzz/corpus/$target"
  scratch="$cache/fuzz-corpus/$target"
  mkdir -p "$scratch"
  echo "fuzz: $target for ${seconds} s ($(find "$seeds" -type f | wc -l) seeds, corpus in $scratch)"
  status=0
  # The request body limit is 16 KiB, so no decoder sees a longer input.
  fuzz run "$target" "$scratch" "$seeds" -- -max_total_time="$seconds" -max_len=16384 -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 >"$logs/$target.log" 2>&1 || status=$?
  executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$target.log" | tail -1)
  coverage=$(grep -o 'cov: [0-9]*' "$logs/$target.log" | tail -1 || true)
  if [ "$status" -eq 0 ]; then
    echo "fuzz: $target: ${executions:-?} executions, ${coverage:-cov: ?}, no crash"
  else
    failed+=("$target")
    echo "fuzz: $target FAILED (exit $status) after ${executions:-?} executions:" >&2
    grep -m1 -A6 'panicked at' "$logs/$target.log" >&2 || tail -n 40 "$logs/$target.log" >&2
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$logs/$target.log" | tail -1)
    if [ -n "$artifact" ]; then
      echo "fuzz: $target: crash artifact $root/${artifact#"$root"/}" >&2
      echo "fuzz: reproduce with: $cargo_fuzz fuzz run --fuzz-dir fuzz --sanitizer none $target $artifact" >&2
    fi
  fi
done

echo "fuzz: done in $((SECONDS - started)) s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: crashed: ${failed[*]}" >&2
  exit 1
fi
