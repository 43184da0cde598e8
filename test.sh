#!/usr/bin/env bash
# Run the CI tier of the tests: set up if needed (idempotent), then pytest on 2 workers.
# Covers the ISA, configs, rendering, Verilator lint, pyuvm RTL verification on 4x4 and 16x16, and the
# Yosys synthesis flow on 4x4. Heavier regressions live in nox sessions (see README).
set -euo pipefail
cd "$(dirname "$0")"
./setup.sh --no-run
exec .venv/bin/python -m pytest -n "${GENESYS_JOBS:-2}" "$@"
