"""The figures the summary states, computed from one run's sweep and per-step rows.

Sweep rows: {target, concurrency, throughput_rps, p50_ms, p90_ms, p95_ms, p99_ms, ...}.
Step rows: {target, concurrency, model, request_ms, queue_ms, compute_ms, avg_batch, ...}.
Targets: `pixel` (ensemble), `tokenizer`, `pixel_lm`, `scoring`, `baseline`.
"""

from __future__ import annotations

from dataclasses import dataclass

STEPS = ("tokenizer", "pixel_lm", "scoring")


@dataclass(frozen=True)
class Point:
    concurrency: int
    throughput_rps: float
    p50_ms: float
    p99_ms: float


def points(sweep: list[dict], target: str) -> list[Point]:
    rows = sorted((r for r in sweep if r["target"] == target), key=lambda r: r["concurrency"])
    return [Point(int(r["concurrency"]), float(r["throughput_rps"]), float(r["p50_ms"]),
                  float(r["p99_ms"])) for r in rows]


def peak(sweep: list[dict], target: str) -> Point | None:
    pts = points(sweep, target)
    return max(pts, key=lambda p: p.throughput_rps) if pts else None


def lowest_common(sweep: list[dict], a: str, b: str) -> tuple[Point, Point] | tuple[None, None]:
    """Both targets' points at the lowest concurrency where both were measured."""
    pa, pb = ({p.concurrency: p for p in points(sweep, t)} for t in (a, b))
    common = sorted(set(pa) & set(pb))
    return (pa[common[0]], pb[common[0]]) if common else (None, None)


def near_fraction_of_peak(sweep: list[dict], target: str, fraction: float = 0.7) -> Point | None:
    """The measured point whose throughput is closest to `fraction` of the target's peak."""
    top = peak(sweep, target)
    if top is None:
        return None
    return min(points(sweep, target), key=lambda p: abs(p.throughput_rps - fraction * top.throughput_rps))


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def headline(sweep: list[dict]) -> dict[str, float | int | None]:
    """Every ratio of the summary; None where a target was not measured."""
    def thr(p): return p.throughput_rps if p else None
    def p50(p): return p.p50_ms if p else None

    ens, lm, tok, base = (peak(sweep, t) for t in ("pixel", "pixel_lm", "tokenizer", "baseline"))
    ens_lm, lm1 = lowest_common(sweep, "pixel", "pixel_lm")
    ens_base, base1 = lowest_common(sweep, "pixel", "baseline")
    tail = near_fraction_of_peak(sweep, "pixel")
    return {
        "ensemble_peak_rps": thr(ens), "ensemble_peak_concurrency": ens.concurrency if ens else None,
        "ensemble_over_lm_throughput": _ratio(thr(ens), thr(lm)),
        "ensemble_minus_lm_p50_ms": p50(ens_lm) - p50(lm1) if lm1 else None,
        "lm_p50_concurrency": lm1.concurrency if lm1 else None,
        "tokenizer_over_ensemble_throughput": _ratio(thr(tok), thr(ens)),
        "ensemble_over_baseline_throughput": _ratio(thr(ens), thr(base)),
        "ensemble_over_baseline_p50": _ratio(p50(ens_base), p50(base1)),
        "baseline_p50_concurrency": base1.concurrency if base1 else None,
        "tail_concurrency": tail.concurrency if tail else None,
        "tail_fraction_of_peak": _ratio(thr(tail), thr(ens)),
        "tail_p99_over_p50": _ratio(tail.p99_ms, tail.p50_ms) if tail else None,
    }


def time_split(steps: list[dict], *, target: str = "pixel", concurrency: int) -> list[dict]:
    """Where one ensemble request's time goes at a concurrency: queue and compute per step, and the
    ensemble's own share (its request time minus the steps'), each in ms and % of the request."""
    rows = {r["model"]: r for r in steps if r["target"] == target and int(r["concurrency"]) == concurrency}
    if target not in rows:
        return []
    total = float(rows[target]["request_ms"])
    out = []
    for step in STEPS:
        if step in rows:
            for part in ("queue", "compute"):
                ms = float(rows[step][f"{part}_ms"])
                out.append({"part": f"{step} {part}", "ms": ms, "share": ms / total if total else 0.0,
                            "avg_batch": float(rows[step]["avg_batch"])})
    other = total - sum(r["ms"] for r in out)
    out.append({"part": "ensemble hand-offs", "ms": other, "share": other / total if total else 0.0,
                "avg_batch": float("nan")})
    return out
