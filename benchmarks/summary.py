"""The markdown summary of one run: conditions, headline ratios, tables, where the time goes."""

from __future__ import annotations

from benchmarks.ratios import headline, points, time_split

TARGET_NOTES = {
    "pixel": "the ensemble: tokenizer -> pixel_lm -> scoring",
    "baseline": "one Python model: HF tokenizer + `generate` + decode (no scoring)",
    "pixel_lm": "the LM step alone (pre-tokenized 512-token prompts)",
    "tokenizer": "the tokenizer step alone",
    "scoring": "the scoring step alone (real LM outputs)",
}


def _f(value, spec: str = ".2f", unit: str = "") -> str:
    return "n/a" if value is None else f"{value:{spec}}{unit}"


def _headline_lines(h: dict) -> list[str]:
    return [
        f"- **Ensemble throughput ÷ LM-alone throughput** (peaks): {_f(h['ensemble_over_lm_throughput'])}",
        f"- **Ensemble p50 − LM p50** (concurrency {h['lm_p50_concurrency']}): "
        f"{_f(h['ensemble_minus_lm_p50_ms'], '.1f', ' ms')}",
        f"- **Tokenizer throughput ÷ ensemble throughput** (peaks): "
        f"{_f(h['tokenizer_over_ensemble_throughput'], '.1f')}",
        f"- **Ensemble vs HF baseline**: throughput ratio (peaks) {_f(h['ensemble_over_baseline_throughput'])}, "
        f"p50 ratio (concurrency {h['baseline_p50_concurrency']}) {_f(h['ensemble_over_baseline_p50'])}",
        f"- **p99 ÷ p50 at ~70 % of peak** (ensemble, concurrency {h['tail_concurrency']}, "
        f"{_f(h['tail_fraction_of_peak'] and 100 * h['tail_fraction_of_peak'], '.0f', ' %')} of peak): "
        f"{_f(h['tail_p99_over_p50'])}",
        f"- Ensemble peak: {_f(h['ensemble_peak_rps'])} requests/s at concurrency "
        f"{h['ensemble_peak_concurrency']}",
    ]


def _sweep_table(sweep: list[dict]) -> list[str]:
    lines = ["| target | concurrency | requests | throughput (req/s) | p50 ms | p90 ms | p99 ms | "
             "server queue ms | server compute ms | load (1 min) |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    order = list(TARGET_NOTES)
    for r in sorted(sweep, key=lambda r: (order.index(r["target"]) if r["target"] in order else 99,
                                          int(r["concurrency"]))):
        lines.append(
            f"| {r['target']} | {r['concurrency']} | {int(r['requests'])} | {r['throughput_rps']:.2f} | "
            f"{r['p50_ms']:.1f} | {r['p90_ms']:.1f} | {r['p99_ms']:.1f} | "
            f"{_f(r.get('server_queue_ms'), '.1f')} | {_f(r.get('server_compute_ms'), '.1f')} | "
            f"{_f(r.get('load_1m'), '.1f')} |")
    return lines


def _ratio_table(sweep: list[dict]) -> list[str]:
    """The ratios at each concurrency too, so a reader can see they are not one lucky point."""
    by = {(r["target"], int(r["concurrency"])): r for r in sweep}
    levels = sorted({c for t, c in by if t == "pixel"})
    lines = ["| concurrency | ensemble ÷ LM throughput | ensemble − LM p50 ms | tokenizer ÷ ensemble "
             "throughput | ensemble ÷ baseline throughput | ensemble ÷ baseline p50 |",
             "|---:|---:|---:|---:|---:|---:|"]
    for c in levels:
        e, lm, tok, base = (by.get((t, c)) for t in ("pixel", "pixel_lm", "tokenizer", "baseline"))
        cells = [
            _f(e["throughput_rps"] / lm["throughput_rps"] if lm else None),
            _f(e["p50_ms"] - lm["p50_ms"] if lm else None, ".1f"),
            _f(tok["throughput_rps"] / e["throughput_rps"] if tok else None, ".1f"),
            _f(e["throughput_rps"] / base["throughput_rps"] if base else None),
            _f(e["p50_ms"] / base["p50_ms"] if base else None),
        ]
        lines.append(f"| {c} | " + " | ".join(cells) + " |")
    return lines


def _split_table(steps: list[dict], concurrency: int) -> list[str]:
    split = time_split(steps, concurrency=concurrency)
    if not split:
        return []
    lines = [f"At concurrency {concurrency}:", "", "| part | ms per request | share | avg batch |",
             "|---|---:|---:|---:|"]
    for s in split:
        batch = "" if s["avg_batch"] != s["avg_batch"] else f"{s['avg_batch']:.1f}"
        lines.append(f"| {s['part']} | {s['ms']:.1f} | {100 * s['share']:.0f} % | {batch} |")
    return [*lines, ""]


def _client_lines(client: list[dict], sweep: list[dict]) -> list[str]:
    if not client:
        return []
    pa = {p.concurrency: p for p in points(sweep, "pixel")}
    lines = ["## What the async client adds", "",
             "`benchmarks/client_load.py`: `PixelClient` (gRPC, cache off, no recorder) sending the same "
             "messages with a bounded number in flight, on loopback.", "",
             "| concurrency | requests | throughput (req/s) | p50 ms | p90 ms | p99 ms | "
             "perf_analyzer p50 ms | added by client p50 / p99 ms |", "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in client:
        ref = pa.get(int(r["concurrency"]))
        lines.append(f"| {r['concurrency']} | {int(r['requests'])} | {r['throughput_rps']:.2f} | "
                     f"{r['p50_ms']:.1f} | {r['p90_ms']:.1f} | {r['p99_ms']:.1f} | "
                     f"{_f(ref.p50_ms if ref else None, '.1f')} | "
                     f"{_f(r.get('added_p50_ms'), '.1f')} / {_f(r.get('added_p99_ms'), '.1f')} |")
    return [*lines, "", "*Added by client*: per request, the client's latency minus the server time the "
            "ensemble reports (`inference_time_ms`, tokenizer start to scoring end): the client's own work "
            "(encoding, A/B routing, decoding into a PixelResult), gRPC on loopback and the wait before "
            "the tokenizer starts (its dynamic-batching queue delay). Unlike comparing with perf_analyzer's "
            "p50 from another minute, it does not depend on how busy the shared cores were.", ""]


def render_summary(*, sweep: list[dict], steps: list[dict], client: list[dict], conditions: dict) -> str:
    h = headline(sweep)
    levels = sorted({int(r["concurrency"]) for r in steps if r["target"] == "pixel"})
    lines = [f"# Benchmarks: {conditions['title']}", "",
             "Written by `make bench` (`python -m benchmarks.perf`); every figure below comes from the "
             "same run. Do not edit: re-run.", "", "## Conditions", ""]
    lines += [f"- {k}: {v}" for k, v in conditions.items() if k != "title"]
    lines += ["", "## Headline", "", *_headline_lines(h), "",
              "Peaks are each target's highest throughput over the sweep; p50s are compared at the lowest "
              "concurrency both targets were measured at, where queueing blurs them least.", "", "## Targets", ""]
    lines += [f"- `{t}`: {note}" for t, note in TARGET_NOTES.items()]
    lines += ["", "## Ratios at each concurrency", "", *_ratio_table(sweep), "",
              "## Sweep", "", *_sweep_table(sweep), "",
              "## Where the time goes (ensemble, server side)", "",
              "From Triton's per-model statistics, read before and after each point: each step's queue "
              "and compute time per request (a batched execution counts in full for every request in it); "
              "what is left of the ensemble's request time is its own scheduling and tensor hand-offs.", ""]
    for c in dict.fromkeys([levels[0], levels[-1]] if levels else []):
        lines += _split_table(steps, c)
    lines += _client_lines(client, sweep)
    lines += ["## Plots", "", "![throughput](throughput.png)", "", "![latency](latency.png)", "",
              "![steps](steps.png)", ""]
    return "\n".join(lines)
