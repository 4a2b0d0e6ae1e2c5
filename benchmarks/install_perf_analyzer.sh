#!/usr/bin/env bash
# Install perf_analyzer the way shared/DESIGN.md records; idempotent (a second run only checks).
#   CPU machine (Debian 12, glibc 2.36): the binary tritonclient 2.50's wheel puts in .venv/bin,
#     plus Debian's libb64-0d and libcudart.so.12 from pip (nvidia-cuda-runtime-cu12, extra `bench`).
#   GPU machine (glibc >= 2.38):  PIXEL_BENCH_GPU=1 bash benchmarks/install_perf_analyzer.sh
#     installs perf-analyzer==2.60.0 from PyPI instead.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY="$VENV/bin/python"
[ -x "$PY" ] || { echo "no $PY: run 'make setup' first" >&2; exit 1; }

if [ "${PIXEL_BENCH_GPU:-0}" = 1 ]; then
    "$PY" -m pip show perf-analyzer >/dev/null 2>&1 || "$PY" -m pip install -q perf-analyzer==2.60.0
    echo "perf_analyzer: $(command -v perf_analyzer || echo "$VENV/bin/perf_analyzer") (PyPI perf-analyzer)"
    exit 0
fi

if ! dpkg -s libb64-0d >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get install -y -q libb64-0d || { $SUDO apt-get update -q && $SUDO apt-get install -y -q libb64-0d; }
fi
"$PY" -c "import nvidia.cuda_runtime" 2>/dev/null || "$PY" -m pip install -q "nvidia-cuda-runtime-cu12>=12.1,<13"

BIN="$VENV/bin/perf_analyzer"
[ -x "$BIN" ] || { echo "$BIN missing: reinstall tritonclient ('pip install --force-reinstall tritonclient[grpc,http]==2.50.0')" >&2; exit 1; }
LIB=$("$PY" -c "import nvidia.cuda_runtime as m, os; print(os.path.join(list(m.__path__)[0], 'lib'))")
if LD_LIBRARY_PATH="$LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" ldd "$BIN" | grep -q "not found"; then
    echo "perf_analyzer still misses libraries:" >&2
    LD_LIBRARY_PATH="$LIB" ldd "$BIN" | grep "not found" >&2
    exit 1
fi
echo "perf_analyzer ready: $BIN (libcudart from $LIB)"
