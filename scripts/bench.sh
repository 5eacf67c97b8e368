#!/usr/bin/env bash
# Builds the service, the operator and the load generator in release mode and runs ticketing-bench:
#
#   scripts/bench.sh [--quick] [--out DIR] [other flags]   the benchmark suite (results.json, results.md, plot.svg)
#   scripts/bench.sh faults [--quick] --out DIR            the fault campaign (faults.json, faults.md)
#   scripts/bench.sh operator [--quick] --out DIR          the operator at scale (operator.json, operator.md)
#
# Storage of the suite: DATABASE_URL / REDIS_URL when set; otherwise, when scripts/test-services.sh has exported
# TICKETING_TEST_MYSQL_URL / TICKETING_TEST_REDIS_URL, the database `bench` on that MariaDB (created if missing)
# and that Redis; otherwise the service's embedded SQLite default. The exit status is ticketing-bench's:
# 0 = every invariant held, 1 = an invariant broke, 2 = the run could not be carried out.
set -euo pipefail

cd "$(dirname "$0")/.."

if [ -z "${DATABASE_URL:-}" ] && [ -n "${TICKETING_TEST_MYSQL_URL:-}" ]; then
  export DATABASE_URL="${TICKETING_TEST_MYSQL_URL%/}/bench"
  if [ -z "${REDIS_URL:-}" ] && [ -n "${TICKETING_TEST_REDIS_URL:-}" ]; then
    export REDIS_URL="$TICKETING_TEST_REDIS_URL"
  fi
fi

command=${1:-}
case "$command" in
  faults)
    # The campaign runs its own MariaDB and Redis processes from the Debian packages, behind toxiproxy (built from
    # its Go module into $TICKETING_CACHE once).
    scripts/test-services.sh install
    scripts/toxiproxy.sh build
    ;;
esac

echo "bench: building ticketing-service, ticketing-operator and ticketing-bench (release)"
cargo build --release -p ticketing-service -p ticketing-operator -p ticketing-bench

target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
bench="$target_dir/release/ticketing-bench"
[ -x "$bench" ] || { echo "bench: $bench was not built" >&2; exit 2; }

if [ "$command" = faults ] || [ "$command" = operator ]; then
  :
elif [ -n "${DATABASE_URL:-}" ]; then
  echo "bench: storage = MariaDB${REDIS_URL:+ + Redis} (from DATABASE_URL${REDIS_URL:+ / REDIS_URL}), plus a storm on SQLite"
else
  echo "bench: storage = embedded SQLite (set DATABASE_URL / REDIS_URL, or source the test-services env, for MariaDB + Redis)"
fi
exec "$bench" "$@"
