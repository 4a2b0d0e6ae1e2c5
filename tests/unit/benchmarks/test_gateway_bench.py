import time

import pytest

from benchmarks.gateway_bench import Point, summarize


def test_summary_pairs_each_gateway_request_with_its_inner_latency():
    points = [
        Point("direct", 2, [100.0, 110.0, 120.0], [], [90.0, 95.0, 100.0], wall_s=1.0),
        Point("gateway", 2, [104.0, 116.0, 130.0], [101.0, 110.0, 121.0], [91.0, 96.0, 99.0],
              wall_s=1.5),
    ]
    (row,) = summarize(points)
    assert row["added_p50_ms"] == pytest.approx(6.0)
    assert row["paired_overhead_p50_ms"] == pytest.approx(6.0)  # median of 3, 6, 9
    assert row["throughput_ratio"] == pytest.approx(2.0 / 3.0)
    assert row["gateway_server_p50_ms"] - row["direct_server_p50_ms"] == pytest.approx(1.0)


def test_summary_reports_the_gateways_cpu_per_request_and_while_idle():
    points = [
        Point("direct", 8, [100.0] * 4, [], [90.0] * 4, wall_s=2.0, gateway_cpu_s=0.004,
              load_average=1.5),
        Point("gateway", 8, [104.0] * 4, [101.0] * 4, [91.0] * 4, wall_s=2.0,
              gateway_cpu_s=0.012, load_average=2.5),
    ]
    (row,) = summarize(points)
    assert row["gateway_cpu_ms_per_request"] == pytest.approx(3.0)  # 12 ms over 4 requests
    assert row["gateway_idle_cpu_ms_per_s"] == pytest.approx(2.0)  # 4 ms over 2 s of direct calls
    assert row["load_average_1m"] == 2.5


def test_process_cpu_reads_this_process_in_nanoseconds():
    import os
    import time

    from benchmarks.process_cpu import cpu_s, thread_cpu_s

    before = cpu_s(os.getpid())
    deadline = time.process_time() + 0.05
    while time.process_time() < deadline:  # burn 50 ms of CPU
        pass
    assert 0.04 <= cpu_s(os.getpid()) - before < 1.0
    assert thread_cpu_s(os.getpid())  # named threads, at least the main one


def test_renice_tree_lowers_the_priority_of_a_process_and_its_children():
    import subprocess

    import psutil

    from benchmarks.gateway_bench import renice_tree

    parent = subprocess.Popen(["bash", "-c", "sleep 30 & sleep 30 & wait"])
    try:
        root = psutil.Process(parent.pid)
        for _ in range(50):
            if len(root.children()) == 2:
                break
            time.sleep(0.05)
        assert renice_tree(parent.pid, 0) == 0 and root.nice() == 0
        assert renice_tree(parent.pid, 3) == 3
        assert [p.nice() for p in [root, *root.children(recursive=True)]] == [3, 3, 3]
    finally:
        for p in psutil.Process(parent.pid).children(recursive=True):
            p.kill()
        parent.kill()
        parent.wait()
