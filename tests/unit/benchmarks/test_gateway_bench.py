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
