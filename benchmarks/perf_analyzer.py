"""Find and run perf_analyzer: one invocation per (model, concurrency), its verbose CSV row parsed.

Where the binary comes from (shared/DESIGN.md): on the CPU machine (Debian 12, glibc 2.36) the
`bin/perf_analyzer` that tritonclient 2.50's wheel puts in the virtualenv, which needs Debian's
`libb64-0d` and `libcudart.so.12` from the pip package `nvidia-cuda-runtime-cu12` (its `lib/` goes
on LD_LIBRARY_PATH); on the GPU machine `perf-analyzer==2.60.0` from PyPI (glibc >= 2.38).
`benchmarks/install_perf_analyzer.sh` installs both kinds idempotently.

Windows: a shared 2-core machine never gives three windows within 10 % of each other, so each
point takes exactly three count windows (`-r 3`) and reports them merged; the row keeps the
request count so a reader can judge the sample. perf_analyzer still refuses a point whose windows'
throughput or mean latency differ by more than 1 + s/100 times (exit 2, "Failed to obtain stable
measurement"): with windows of a few requests over messages that range from a configured crisis
reply (~0.1 s) to a whole generated one, even 11x is exceeded, so the check is switched off in
effect (-s 1000000).
"""

from __future__ import annotations

import csv
import importlib.util
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from pipeline_lib.contract import ADMIN_KEY_ENV, admin_headers
from pipeline_lib.errors import PixelError


class BenchmarkError(PixelError):
    """perf_analyzer is missing, failed, or measured nothing; the message says what to do."""


@dataclass(frozen=True)
class Window:
    """How long one measurement point runs: three windows of at least `requests` requests each."""

    requests: int
    trials: int = 3
    stability_pct: int = 1_000_000  # the check off in effect (see the module docstring)


def cuda_runtime_libdir() -> str | None:
    """The `lib/` folder of the pip package nvidia-cuda-runtime-cu12 (holds libcudart.so.12)."""
    spec = importlib.util.find_spec("nvidia.cuda_runtime")
    if spec is None or not spec.submodule_search_locations:
        return None
    lib = Path(list(spec.submodule_search_locations)[0]) / "lib"
    return str(lib) if lib.is_dir() else None


def find_perf_analyzer(explicit: str | None = None) -> Path:
    """An explicit path, $PERF_ANALYZER, the virtualenv's bin/, then PATH."""
    candidates = [explicit, os.environ.get("PERF_ANALYZER"),
                  str(Path(sys.executable).parent / "perf_analyzer"), shutil.which("perf_analyzer")]
    for c in candidates:
        if c and Path(c).is_file() and os.access(c, os.X_OK):
            return Path(c)
    raise BenchmarkError("perf_analyzer not found: run `bash benchmarks/install_perf_analyzer.sh` "
                         "(or pass --perf-analyzer PATH / set $PERF_ANALYZER)")


def perf_env() -> dict[str, str]:
    env = dict(os.environ)
    lib = cuda_runtime_libdir()
    if lib:
        env["LD_LIBRARY_PATH"] = os.pathsep.join(p for p in (lib, env.get("LD_LIBRARY_PATH")) if p)
    return env


def check_runs(binary: Path) -> None:
    """Fail early, with the fix, when the binary cannot load its libraries."""
    proc = subprocess.run([str(binary), "--version"], env=perf_env(), capture_output=True, text=True)
    out = proc.stdout + proc.stderr
    if "error while loading shared libraries" in out:
        raise BenchmarkError(f"{binary} cannot start: {out.strip()}\nrun "
                             "`bash benchmarks/install_perf_analyzer.sh` (libb64-0d, nvidia-cuda-runtime-cu12)")


# Columns of perf_analyzer's --verbose-csv, in microseconds except the throughput.
_CSV_FIELDS = {
    "Inferences/Second": "throughput_rps",
    "p50 latency": "p50_us", "p90 latency": "p90_us", "p95 latency": "p95_us",
    "p99 latency": "p99_us", "Avg latency": "avg_us",
    "Server Queue": "server_queue_us", "Server Compute Input": "server_compute_input_us",
    "Server Compute Infer": "server_compute_infer_us", "Server Compute Output": "server_compute_output_us",
    "Client Send": "client_send_us", "Client Recv": "client_recv_us",
}


def parse_csv(path: Path) -> dict[str, float]:
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise BenchmarkError(f"{path} holds no measurement row")
    row = rows[-1]
    return {ours: float(row[theirs]) for theirs, ours in _CSV_FIELDS.items() if row.get(theirs)}


def request_count(stdout: str) -> int:
    """'Request count: N' from the client section of perf_analyzer's report."""
    for line in stdout.splitlines():
        if line.strip().startswith("Request count:"):
            return int(line.split(":", 1)[1])
    return 0


def load_args(*, concurrency: int | None = None, request_rate: float | None = None,
              distribution: str = "poisson") -> tuple[list[str], str]:
    """perf_analyzer's load flags and a label: closed loop (a fixed number in flight) or open loop
    (requests sent at a rate whatever the answers, intervals drawn from `distribution`)."""
    if (concurrency is None) == (request_rate is None):
        raise BenchmarkError("give exactly one of concurrency and request_rate")
    if concurrency is not None:
        return ["--concurrency-range", str(concurrency)], f"concurrency {concurrency}"
    return (["--request-rate-range", f"{request_rate:g}", "--request-distribution", distribution],
            f"{request_rate:g} req/s ({distribution})")


def _tail(proc: subprocess.CompletedProcess, lines: int = 6) -> str:
    """perf_analyzer's last lines (stdout then stderr), for an error message."""
    return "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-lines:])


def measure(binary: Path, *, model: str, url: str, input_data: Path, concurrency: int | None = None,
            window: Window, csv_path: Path, timeout_s: float = 600, request_rate: float | None = None,
            streaming: bool = False, export_path: Path | None = None) -> dict[str, float]:
    """One point of the sweep: throughput, percentiles (us) and perf_analyzer's server times.
    `streaming` for decoupled models (gRPC streams); `export_path` keeps every request's response
    timestamps and outputs (`--profile-export-file`, read by benchmarks/stream_timing.py)."""
    load, label = load_args(concurrency=concurrency, request_rate=request_rate)
    cmd = [str(binary), "-m", model, "-u", url, "-i", "grpc", "--input-data", str(input_data),
           *load, "--measurement-mode", "count_windows",
           "--measurement-request-count", str(window.requests), "-r", str(window.trials),
           "-s", str(window.stability_pct), "-f", str(csv_path), "--verbose-csv"]
    if streaming:
        cmd.append("--streaming")
        if request_rate is not None:
            # perf_analyzer 2.50 fails open-loop streaming with its default 4 sending threads
            # ("failed to find the requested model version"); one thread still sends on schedule,
            # asynchronously, whatever is in flight.
            cmd += ["--max-threads", "1"]
    if export_path is not None:
        export_path.unlink(missing_ok=True)
        cmd += ["--profile-export-file", str(export_path)]
    if os.environ.get(ADMIN_KEY_ENV):
        # perf_analyzer reads the model config and Triton's statistics: admin APIs, locked.
        ((name, value),) = admin_headers(os.environ[ADMIN_KEY_ENV], protocol="grpc").items()
        cmd += ["-H", f"{name}:{value}"]
    csv_path.unlink(missing_ok=True)
    try:
        proc = subprocess.run(cmd, env=perf_env(), capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as exc:
        raise BenchmarkError(f"perf_analyzer on {model} at {label} ran past "
                             f"{timeout_s:.0f} s: lower the load or --max-new-tokens") from exc
    if proc.returncode != 0 or not csv_path.is_file():
        raise BenchmarkError(f"perf_analyzer on {model} at {label} failed "
                             f"(exit {proc.returncode}):\n{_tail(proc)}")
    if export_path is not None and (not export_path.is_file() or export_path.stat().st_size == 0):
        # seen once at concurrency 8 on a quiet machine: exit 0, the CSV written, the export empty
        raise BenchmarkError(f"perf_analyzer on {model} at {label} wrote an empty profile "
                             f"export:\n{_tail(proc)}")
    result = parse_csv(csv_path)
    result["requests"] = request_count(proc.stdout)
    return result
