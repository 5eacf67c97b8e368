#!/usr/bin/env bash
# Runs the reservation service on its embedded default: a SQLite file and an in-process cache in ./data, no
# external servers. Extra arguments go to `ticketing-service serve` (for example `--bind 0.0.0.0:8080`).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || { echo "run.sh: cargo is not installed (https://rustup.rs)" >&2; exit 1; }
cargo build --release --locked -p ticketing-service
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
export PATH="$target_dir/release:$PATH"
exec ticketing-service serve --data-dir "${TICKETING_DATA_DIR:-data}" "$@"
