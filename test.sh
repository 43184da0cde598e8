#!/usr/bin/env bash
# Run the CI tier of the tests: set up if needed (idempotent), then pytest on 2 workers.
# Covers the ISA, configs, rendering, Verilator lint, pyuvm RTL verification on 4x4 and 16x16, and the
# Yosys synthesis flow on 4x4, the simulator, and the compiler on single operations and small networks
# against ONNX Runtime. Tests marked `slow` (full-size networks) run in `nox -s networks`.
set -euo pipefail
cd "$(dirname "$0")"
./setup.sh --no-run
exec .venv/bin/python -m pytest -n "${GENESYS_JOBS:-2}" -m "not slow" "$@"
