"""The engine benchmark's pure parts: Prometheus parsing, profile-export timings, the issue's targets,
and the summary/plots rendered back from the written files."""

import json

import pytest

from benchmarks import prom
from benchmarks.engine_targets import all_targets, itl_tail, never_falls, peak_tokens, ttft_vs_rtc
from benchmarks.perf_analyzer import BenchmarkError, load_args
from benchmarks.stream_timing import request_timing, summarize

METRICS = """# HELP pixel_engine_generated_tokens_total Tokens generated
# TYPE pixel_engine_generated_tokens_total counter
pixel_engine_generated_tokens_total{model="pixel_lm"} 56
pixel_engine_requests_total{finish_reason="length",model="pixel_lm"} 7
pixel_engine_requests_total{finish_reason="stop",model="pixel_lm"} 3
pixel_engine_inter_token_seconds_sum{model="pixel_lm"} 3.7
"""


def test_prometheus_totals_sum_label_sets_and_deltas_subtract():
    before = prom.parse(METRICS)
    after = prom.parse(METRICS.replace("} 56", "} 120").replace("} 3\n", "} 5\n"))
    assert prom.total(before, "pixel_engine_requests_total") == 10
    assert prom.total(before, "pixel_engine_inter_token_seconds") == 0  # _sum is another metric
    assert prom.delta(before, after, "pixel_engine_generated_tokens_total") == 64
    assert prom.delta(before, after, "pixel_engine_requests_total") == 2


def count_words(text: str) -> int:  # a stand-in tokenizer: one token per word
    return len(text.split())


def test_streamed_request_ttft_is_the_first_text_and_gaps_are_per_token():
    ms = 1_000_000
    request = {"timestamp": 0, "response_timestamps": [100 * ms, 300 * ms, 500 * ms, 520 * ms],
               "response_outputs": [
                   {"stream_event": "assessment", "text_delta": ""},
                   {"stream_event": "delta", "text_delta": "Hi there"},
                   {"stream_event": "delta", "text_delta": " how are you"},
                   {"stream_event": "final", "text_delta": "", "response_text": "Hi there how are you",
                    "finish_reason": "stop"}]}
    t = request_timing(request, count_words)
    assert (t.ttft_ms, t.e2e_ms, t.tokens, t.finish_reason) == (300, 520, 5, "stop")
    assert t.itl_ms == [pytest.approx(200 / 3)]


def test_unary_reply_arrives_once_so_ttft_equals_end_to_end():
    request = {"timestamp": 10, "response_timestamps": [4_000_000_010],
               "response_outputs": [{"response_text": ["a b c"]}]}
    t = request_timing(request, count_words)
    assert t.ttft_ms == t.e2e_ms == pytest.approx(4000) and t.itl_ms == [] and t.tokens == 3
    assert request_timing({"timestamp": 0, "response_timestamps": []}, count_words) is None
    s = summarize([t])
    assert s["ttft_p50_ms"] == pytest.approx(4000) and s["itl_p50_ms"] != s["itl_p50_ms"]  # NaN


def test_run_to_completion_tokens_leave_out_the_appended_crisis_pointer(tmp_path):
    from benchmarks.engine_points import Bench
    from pipeline_lib.scoring.rules import with_pointer

    pointer = "Call the line now, you are not alone."
    replies = ["one two three four", with_pointer("five six", pointer)]
    export = tmp_path / "point.json"
    export.write_text(json.dumps({"experiments": [{"requests": [
        {"timestamp": 0, "response_timestamps": [1_000_000], "response_outputs": [{"response_text": [r]}]}
        for r in replies]}]}))
    bench = Bench(binary=tmp_path, work=tmp_path, console=None, urls={}, metrics_urls={}, data={},
                  count_tokens=count_words, messages=[], crisis_pointer=pointer)
    assert bench.generated_tokens_mean(export) == pytest.approx((4 + 2) / 2)
    assert summarize([request_timing(r, count_words) for r in json.loads(export.read_text())[
        "experiments"][0]["requests"]])["reply_tokens_mean"] == pytest.approx((4 + 10) / 2)


def rows():
    def r(rt, c, rps, tok, ttft, itl50, itl99, e2e):
        return {"runtime": rt, "concurrency": c, "throughput_rps": rps, "tokens_per_s": tok,
                "ttft_p50_ms": ttft, "itl_p50_ms": itl50, "itl_p99_ms": itl99, "e2e_p50_ms": e2e}
    return [r("engine", 1, 0.2, 10.0, 500, 80, 100, 4000), r("engine", 8, 1.0, 50.0, 900, 100, 250, 7000),
            r("engine", 16, 0.97, 49.0, 1500, 120, 400, 12000),
            r("run_to_completion", 1, 0.25, 12.0, 4000, float("nan"), float("nan"), 4000),
            r("run_to_completion", 8, 0.6, 30.0, 10000, float("nan"), float("nan"), 10000)]


def test_targets_from_rows():
    assert peak_tokens(rows()).measured == pytest.approx(50 / 30) and peak_tokens(rows()).passed
    flat = never_falls(rows())
    assert flat.measured == pytest.approx(0.97) and flat.passed  # within the 5 % noise tolerance
    assert not never_falls([{**x, "throughput_rps": 0.5} if x["concurrency"] == 16 else x
                            for x in rows()]).passed
    assert ttft_vs_rtc(rows()).measured == pytest.approx(0.09) and ttft_vs_rtc(rows()).passed
    assert itl_tail(rows()).measured == pytest.approx(2.5) and itl_tail(rows()).passed
    targets = all_targets(rows(), prefill={"saved": 900, "requests": 20, "prefix_tokens_mean": 44.0},
                          burst={"quiet_ms": 4000, "next_ms": 13000})
    assert [t.verdict for t in targets] == ["PASS", "PASS", "PASS", "PASS", "PASS", "FAIL"]


def test_peak_tokens_takes_the_engines_best_door_and_names_both():
    unary = [*rows(), {"runtime": "engine_unary", "concurrency": 16, "throughput_rps": 1.2,
                       "tokens_per_s": 60.0}]
    target = peak_tokens(unary)
    assert target.measured == pytest.approx(60 / 30)
    assert "streamed 50.0" in target.detail and "unary 60.0" in target.detail
    # The unary door alone never makes the other targets (streaming ones) pass or fail.
    assert never_falls(unary).measured == never_falls(rows()).measured


def test_missing_inputs_are_not_measured_never_passed():
    targets = all_targets([r for r in rows() if r["runtime"] == "engine"], prefill={}, burst={})
    assert {t.name.split(",")[0]: t.verdict for t in targets}["peak tokens/s"] == "not measured"
    assert [t.verdict for t in targets][-2:] == ["not measured", "not measured"]


def test_load_args_closed_and_open_loop():
    assert load_args(concurrency=4)[0] == ["--concurrency-range", "4"]
    assert load_args(request_rate=0.75)[0] == ["--request-rate-range", "0.75", "--request-distribution",
                                               "poisson"]
    with pytest.raises(BenchmarkError):
        load_args()


def test_written_files_render_back_to_the_same_summary(tmp_path):
    from benchmarks.engine_report import render_only, write_results

    closed = [{**r, "model": "m", "requests": 6, "delivered_tokens_per_s": r["tokens_per_s"],
               "ttft_p99_ms": r["ttft_p50_ms"], "e2e_p99_ms": r["e2e_p50_ms"], "reply_tokens_mean": 40.0,
               "load_1m": 2.0} for r in rows()]
    poisson = [{**closed[1], "rate_rps": 0.5, "rate_fraction": 0.5}]
    for p in poisson:
        p.pop("concurrency")
    totals = {"prefill": {"saved": 900.0, "requests": 20.0, "hits": 20.0, "computed": 500.0,
                          "prefix_tokens_mean": 44.0},
              "burst": {"size": 200, "deadline_s": 20.0, "quiet_ms": 4000.0, "next_ms": 5000.0,
                        "next_over_quiet": 1.25, "burst_s": 21.0, "served_p50_ms": 9000.0,
                        "n_overloaded": 150, "n_served": 50}}
    write_results(tmp_path, closed=closed, poisson=poisson, totals=totals, conditions={"title": "t"})
    first = (tmp_path / "summary.md").read_text()
    render_only(tmp_path)
    assert (tmp_path / "summary.md").read_text() == first
    assert "| peak tokens/s, engine ÷ run-to-completion | 1.67 | >= 1.30 | **PASS** |" in first
    assert "overloaded 150, served 50" in first
    assert json.loads((tmp_path / "totals.json").read_text())["burst"]["size"] == 200
    for png in ("throughput.png", "latency.png", "poisson.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_burst_outcomes_and_window_sizes():
    from benchmarks.burst import outcome_of
    from benchmarks.engine_bench import window_requests

    assert outcome_of(None) == "served"
    assert outcome_of(RuntimeError("[StatusCode.INTERNAL] pixel_lm: overloaded: 18 requests wait")) == "overloaded"
    assert outcome_of(RuntimeError("Deadline Exceeded")) == "deadline"
    assert outcome_of(RuntimeError("boom")) == "error"
    # two waves of in-flight requests for the engine, one for run to completion, capped
    assert [window_requests("engine", c) for c in (1, 8, 16, 32, 64)] == [2, 16, 32, 64, 64]
    assert [window_requests("run_to_completion", c) for c in (1, 4, 32)] == [1, 4, 16]
