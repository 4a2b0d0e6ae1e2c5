"""summary.md of one engine benchmark run: conditions, the issue's targets (pass/fail), tables."""

from __future__ import annotations

import math

from benchmarks.engine_targets import ENGINE, ENGINE_UNARY, RTC, all_targets

LABEL = {ENGINE: "engine (`pixel_stream`, streaming)", ENGINE_UNARY: "engine (`pixel`, unary)",
         RTC: "run-to-completion (`pixel` ensemble)"}
ORDER = {ENGINE: 0, ENGINE_UNARY: 1, RTC: 2}


def _f(value, spec: str = ".2f") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:{spec}}"


def _targets(closed, totals) -> list[str]:
    lines = ["| target | measured | bound | verdict | from |", "|---|---:|---:|---|---|"]
    for t in all_targets(closed, prefill=totals.get("prefill", {}), burst=totals.get("burst", {})):
        lines.append(f"| {t.name} | {_f(t.measured)} | {t.bound} | **{t.verdict}** | {t.detail} |")
    return lines


def _table(rows: list[dict], load_key: str, load_head: str) -> list[str]:
    lines = [f"| runtime | {load_head} | requests | req/s | tokens/s | delivered tok/s | TTFT p50 / p99 ms | "
             "inter-token p50 / p99 ms | end-to-end p50 / p99 ms | reply tokens | load (1 min) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in sorted(rows, key=lambda r: (ORDER.get(r["runtime"], 3), float(r[load_key]))):
        load = f"{int(r[load_key])}" if load_key == "concurrency" else f"{float(r[load_key]):.3g}"
        lines.append(
            f"| {r['runtime']} | {load} | {int(r['requests'])} | {r['throughput_rps']:.3f} | "
            f"{r['tokens_per_s']:.1f} | {r['delivered_tokens_per_s']:.1f} | "
            f"{_f(r['ttft_p50_ms'], '.0f')} / {_f(r['ttft_p99_ms'], '.0f')} | "
            f"{_f(r['itl_p50_ms'], '.0f')} / {_f(r['itl_p99_ms'], '.0f')} | "
            f"{_f(r['e2e_p50_ms'], '.0f')} / {_f(r['e2e_p99_ms'], '.0f')} | {r['reply_tokens_mean']:.1f} | "
            f"{r['load_1m']:.1f} |")
    return lines


def _side_by_side(closed: list[dict]) -> list[str]:
    by = {(r["runtime"], int(r["concurrency"])): r for r in closed}
    levels = sorted({c for _, c in by})
    lines = ["| concurrency | tokens/s engine ÷ run-to-completion | engine TTFT p50 ÷ run-to-completion "
             "end-to-end p50 | end-to-end p50 engine ÷ run-to-completion | tokens/s engine unary ÷ "
             "run-to-completion |", "|---:|---:|---:|---:|---:|"]
    for c in levels:
        e, r, u = by.get((ENGINE, c)), by.get((RTC, c)), by.get((ENGINE_UNARY, c))
        if e and r:
            unary = _f(u["tokens_per_s"] / r["tokens_per_s"]) if u else "–"
            lines.append(f"| {c} | {_f(e['tokens_per_s'] / r['tokens_per_s'])} | "
                         f"{_f(e['ttft_p50_ms'] / r['e2e_p50_ms'])} | {_f(e['e2e_p50_ms'] / r['e2e_p50_ms'])} | "
                         f"{unary} |")
    return lines


def _burst(b: dict) -> list[str]:
    if not b:
        return ["Not run."]
    outcomes = ", ".join(f"{k[2:]} {int(v)}" for k, v in b.items() if k.startswith("n_"))
    return [f"{int(b['size'])} unary requests at once (deadline {b['deadline_s']:g} s each, sent to the "
            f"server): {outcomes}; the burst took {b['burst_s']:.1f} s (served p50 "
            f"{_f(b['served_p50_ms'], '.0f')} ms). A lone request took {b['quiet_ms']:.0f} ms before the "
            f"burst and {b['next_ms']:.0f} ms right after it ({b['next_over_quiet']:.2f}x"
            + (f"; {int(b['next_refused'])} lone requests refused as overloaded before one was served, "
               "all included" if b.get("next_refused") else "") + ")."]


def render_summary(*, closed: list[dict], poisson: list[dict], totals: dict, conditions: dict) -> str:
    p = totals.get("prefill", {})
    out = [f"# {conditions.get('title', 'Engine benchmark')}", "",
           "Issue 14, item 8: the engine (in-flight batching, streaming) against the run-to-completion "
           "ensemble, same machine, same messages, measured alternately in one run. The engine "
           "server is also measured behind its unary door (`pixel`: one response per request) at "
           "the higher concurrencies, where throughput peaks.", "",
           "## Targets", "", *_targets(closed, totals), "",
           "## Definitions", "",
           "- **tokens/s**: requests/s x generated tokens per request (engine: its "
           "`pixel_engine_generated_tokens_total` delta over the point; run-to-completion: the reply "
           "re-tokenized, never trimmed, without the crisis pointer its scoring step appends to a flagged "
           "reply). **delivered tok/s** counts the reply text as sent (the engine trims a reply cut by "
           "the budget to its last sentence; run-to-completion's includes the pointer).",
           "- **TTFT**: client send -> first response carrying text (perf_analyzer's profile export; for a "
           "flagged message the crisis pointer). Run-to-completion answers once: TTFT = end-to-end.",
           "- **inter-token**: gap between consecutive text responses ÷ tokens in the later one, "
           "percentiles over all gaps of the point.",
           "- **end-to-end**: send -> last response (final scores).", "",
           "## Closed loop (requests in flight)", "", *_table(closed, "concurrency", "concurrency"), "",
           *_side_by_side(closed), "",
           "![throughput](throughput.png)", "", "![latency](latency.png)", ""]
    if poisson:
        out += ["## Open loop (Poisson arrivals)", "",
                "Rates are fractions of the engine's closed-loop peak; both servers get the same rates.", "",
                *_table(poisson, "rate_rps", "offered req/s"), "", "![open loop](poisson.png)", ""]
    out += ["## Prefix cache", "",
            f"Over every engine point: {p.get('requests', 0):.0f} requests, {p.get('hits', 0):.0f} prefix-cache "
            f"hits, {p.get('saved', 0):.0f} prompt tokens saved, {p.get('computed', 0):.0f} computed; mean "
            f"system-prompt prefix {_f(p.get('prefix_tokens_mean'), '.1f')} tokens.", "",
            "## Burst", "", *_burst(totals.get("burst", {})), "",
            "## Conditions", "", *[f"- {k}: {v}" for k, v in conditions.items() if k != "title"], ""]
    return "\n".join(out)
