"""perf_analyzer CSV parsing, Triton statistics deltas, the client load test's guards."""

import pytest

from benchmarks.client_load import ClientLoadError, check_loopback, percentiles
from benchmarks.perf_analyzer import BenchmarkError, Window, find_perf_analyzer, parse_csv, request_count
from benchmarks.server_stats import ModelCounters, step_rows

# Header and row exactly as perf_analyzer 2.50 writes them with --verbose-csv.
CSV = (
    "Concurrency,Inferences/Second,Client Send,Network+Server Send/Recv,Server Queue,Server Compute Input,"
    "Server Compute Infer,Server Compute Output,Client Recv,p50 latency,p90 latency,p95 latency,p99 latency,"
    "Avg latency,request/response,response wait\n"
    "2,31.9848,4,427,58129,41,1733,350,2,11999,16494,503589,506073,60689,6,60666\n"
)


def test_parse_verbose_csv(tmp_path):
    path = tmp_path / "pa.csv"
    path.write_text(CSV)
    r = parse_csv(path)
    assert r["throughput_rps"] == pytest.approx(31.9848)
    assert (r["p50_us"], r["p99_us"], r["server_queue_us"]) == (11999, 506073, 58129)


def test_empty_csv_is_an_error(tmp_path):
    path = tmp_path / "pa.csv"
    path.write_text(CSV.splitlines()[0] + "\n")
    with pytest.raises(BenchmarkError, match="no measurement row"):
        parse_csv(path)


def test_request_count_from_report():
    assert request_count("Request concurrency: 2\n  Client: \n    Request count: 224\n") == 224
    assert request_count("nothing") == 0


def test_relaxed_window_keeps_three_trials():
    assert Window(requests=8).trials == 3  # perf_analyzer needs three windows to report at all


def test_missing_binary_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("PERF_ANALYZER", str(tmp_path / "nope"))
    monkeypatch.setattr("sys.executable", str(tmp_path / "python"))
    with pytest.raises(BenchmarkError, match="install_perf_analyzer.sh"):
        find_perf_analyzer()


def counters(requests, inferences, executions, queue_ns, infer_ns):
    return ModelCounters(requests, inferences, executions, queue_ns + infer_ns,
                         {"queue": queue_ns, "compute_input": 0, "compute_infer": infer_ns, "compute_output": 0})


def test_step_rows_are_per_request_deltas_with_batch_size():
    before = {"pixel_lm": counters(10, 10, 10, 1_000_000, 9_000_000), "idle": counters(3, 3, 3, 1, 1)}
    after = {"pixel_lm": counters(18, 18, 12, 5_000_000, 89_000_000), "idle": counters(3, 3, 3, 1, 1)}
    (row,) = step_rows(before, after)
    assert row["model"] == "pixel_lm" and row["requests"] == 8
    assert row["avg_batch"] == pytest.approx(4.0)
    assert row["queue_ms"] == pytest.approx(0.5) and row["compute_ms"] == pytest.approx(10.0)


def test_client_load_refuses_remote_hosts():
    check_loopback("127.0.0.1:8001")
    check_loopback("localhost:8001")
    check_loopback("[::1]:8001")
    with pytest.raises(ClientLoadError, match="loopback only"):
        check_loopback("10.0.0.5:8001")


def test_percentiles():
    p = percentiles([float(x) for x in range(1, 101)])
    assert p["p50_ms"] == pytest.approx(50.5) and p["p99_ms"] == pytest.approx(99.01)
