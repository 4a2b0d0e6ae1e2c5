"""The summary's figures from sweep and step rows, and the summary that states them."""

import math

import pytest

from benchmarks.ratios import headline, near_fraction_of_peak, time_split
from benchmarks.summary import render_summary


def row(target, c, thr, p50, p99):
    return {"target": target, "concurrency": c, "throughput_rps": thr, "p50_ms": p50, "p90_ms": p50,
            "p95_ms": p99, "p99_ms": p99, "requests": 10 * c}


SWEEP = [
    row("pixel", 1, 1.0, 1000.0, 1100.0), row("pixel", 4, 2.9, 1400.0, 2100.0), row("pixel", 16, 4.0, 4000.0, 5000.0),
    row("pixel_lm", 1, 1.1, 950.0, 1000.0), row("pixel_lm", 16, 5.0, 3200.0, 3300.0),
    row("tokenizer", 1, 80.0, 12.0, 14.0), row("tokenizer", 16, 400.0, 40.0, 60.0),
    row("baseline", 1, 0.8, 1250.0, 1300.0), row("baseline", 16, 2.0, 8000.0, 9000.0),
]


def test_headline_ratios_use_peaks_and_the_lowest_concurrency():
    h = headline(SWEEP)
    assert h["ensemble_over_lm_throughput"] == pytest.approx(4.0 / 5.0)
    assert h["ensemble_minus_lm_p50_ms"] == pytest.approx(50.0)
    assert h["tokenizer_over_ensemble_throughput"] == pytest.approx(100.0)
    assert h["ensemble_over_baseline_throughput"] == pytest.approx(2.0)
    assert h["ensemble_over_baseline_p50"] == pytest.approx(0.8)
    # 70 % of the 4.0 peak is 2.8: concurrency 4 (2.9) is the closest point.
    assert (h["tail_concurrency"], h["tail_p99_over_p50"]) == (4, pytest.approx(1.5))
    assert h["tail_fraction_of_peak"] == pytest.approx(2.9 / 4.0)


def test_p50s_are_compared_where_both_targets_were_measured():
    # The LM's concurrency-1 point failed: compare at 16, not the ensemble's 1 with the LM's 16.
    sweep = [r for r in SWEEP if not (r["target"] == "pixel_lm" and r["concurrency"] == 1)]
    h = headline(sweep)
    assert h["lm_p50_concurrency"] == 16
    assert h["ensemble_minus_lm_p50_ms"] == pytest.approx(4000.0 - 3200.0)
    assert h["baseline_p50_concurrency"] == 1


def test_missing_targets_give_none_not_an_error():
    h = headline([r for r in SWEEP if r["target"] == "pixel"])
    assert h["ensemble_over_lm_throughput"] is None and h["ensemble_over_baseline_p50"] is None
    assert near_fraction_of_peak([], "pixel") is None


def test_time_split_leaves_the_ensemble_remainder_as_hand_offs():
    steps = [{"target": "pixel", "concurrency": 1, "model": m, "request_ms": req, "queue_ms": q,
              "compute_ms": c, "avg_batch": 1.0}
             for m, req, q, c in (("pixel", 1000.0, 0.0, 1000.0), ("tokenizer", 12.0, 10.0, 2.0),
                                  ("pixel_lm", 960.0, 10.0, 950.0), ("scoring", 13.0, 10.0, 3.0))]
    split = {s["part"]: s for s in time_split(steps, concurrency=1)}
    assert split["pixel_lm compute"]["ms"] == 950.0
    assert split["pixel_lm compute"]["share"] == pytest.approx(0.95)
    assert split["ensemble hand-offs"]["ms"] == pytest.approx(1000.0 - 985.0)
    assert math.isclose(sum(s["share"] for s in split.values()), 1.0)
    assert time_split(steps, concurrency=2) == []


def test_summary_states_every_ratio_and_the_conditions():
    text = render_summary(sweep=SWEEP, steps=[], client=[], conditions={"title": "t", "load average": "0.5"})
    for phrase in ("Ensemble throughput ÷ LM-alone throughput** (peaks): 0.80",
                   "Ensemble p50 − LM p50** (concurrency 1): 50.0 ms",
                   "Tokenizer throughput ÷ ensemble throughput** (peaks): 100.0",
                   "throughput ratio (peaks) 2.00, p50 ratio (concurrency 1) 0.80",
                   "(ensemble, concurrency 4, 72 % of peak): 1.50", "- load average: 0.5"):
        assert phrase in text


def test_render_only_rebuilds_the_same_summary_from_the_written_files(tmp_path):
    from benchmarks.report import render_only, write_results

    steps = [{"target": "pixel", "concurrency": c, "model": m, "requests": 4.0, "avg_batch": 1.0,
              "request_ms": 100.0, "queue_ms": 10.0, "compute_ms": 20.0}
             for c in (1, 4, 16) for m in ("pixel", "tokenizer", "pixel_lm", "scoring")]
    client = [{"target": "client", "concurrency": 1, "requests": 4, "throughput_rps": 0.9, "p50_ms": 1010.0,
               "p90_ms": 1100.0, "p95_ms": 1100.0, "p99_ms": 1100.0, "avg_ms": 1020.0,
               "server_p50_ms": 995.0, "added_p50_ms": 15.0, "added_p99_ms": 20.0}]
    write_results(tmp_path, sweep=SWEEP, steps=steps, client_rows=client, conditions={"title": "t"},
                  device="CPU")
    first = (tmp_path / "summary.md").read_text()
    (tmp_path / "summary.md").unlink()
    render_only(tmp_path, "CPU")
    assert (tmp_path / "summary.md").read_text() == first
    assert "| 1 | 4 | 0.90 | 1010.0 |" in first and "15.0 / 20.0" in first
    assert all((tmp_path / p).stat().st_size > 0 for p in ("throughput.png", "latency.png", "steps.png"))
