"""A seconds-long run of the benchmark harness against the session's real tritonserver."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from pipeline_lib.checkpoints import project_root

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def read(path):
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_harness_measures_the_ensemble_and_a_step_and_writes_every_file(triton_server, tmp_path):
    results = tmp_path / "smoke"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.perf", "--url", triton_server.grpc_url, "--concurrency", "1",
         "--targets", "pixel", "tokenizer", "--requests-per-window", "1", "--client-requests", "2",
         "--results", str(results)],
        cwd=project_root(), capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    sweep = {r["target"]: r for r in read(results / "sweep.csv")}
    failed = json.loads((results / "conditions.json").read_text())["points that failed"]
    assert set(sweep) == {"pixel", "tokenizer"}, failed
    for r in sweep.values():
        assert float(r["throughput_rps"]) > 0 and int(r["requests"]) >= 3
        assert 0 < float(r["p50_ms"]) <= float(r["p99_ms"])

    # Triton's own statistics show the steps `pixel` calls on the engine: the tokenizer and the
    # engine once per request (the tokenizer twice for a flagged message), scoring twice (the
    # assessment before generation, the reply after).
    steps = {r["model"]: r for r in read(results / "steps.csv") if r["target"] == "pixel"}
    assert {"pixel", "tokenizer", "pixel_lm", "scoring"} <= set(steps)
    served = int(steps["pixel"]["requests"])
    assert int(steps["pixel_lm"]["requests"]) == served
    assert served <= int(steps["tokenizer"]["requests"]) <= 2 * served
    assert int(steps["scoring"]["requests"]) == 2 * served

    (client,) = read(results / "client.csv")
    assert client["concurrency"] == "1" and int(client["requests"]) == 2
    assert float(client["p50_ms"]) >= float(client["server_p50_ms"]) > 0

    summary = (results / "summary.md").read_text()
    assert "Tokenizer throughput ÷ ensemble throughput" in summary
    for png in ("throughput.png", "latency.png", "steps.png"):
        assert (results / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
