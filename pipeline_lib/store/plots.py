"""The report's PNG: latency distribution and overall EQ per variant, side by side."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from pipeline_lib.store.analytics import Report


def write_report_png(report: Report, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")  # files only; no display on servers
    import matplotlib.pyplot as plt
    import numpy as np

    latency: dict[str, list[float]] = defaultdict(list)
    eq: dict[str, list[float]] = defaultdict(list)
    for row in report.samples:
        latency[row["variant"]].append(float(row["latency_ms"]))
        if row["overall_eq"] is not None:
            eq[row["variant"]].append(float(row["overall_eq"]))
    names = sorted(latency)

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name in names:
        values = np.sort(np.asarray(latency[name]))
        left.step(values, np.arange(1, len(values) + 1) / len(values), where="post",
                  label=f"{name} (n={len(values)})")
    left.set_xscale("log")
    left.set_xlabel("client latency (ms, log scale)")
    left.set_ylabel("share of calls at or below")
    left.set_title("Latency distribution")
    left.grid(alpha=0.3)
    if names:
        left.legend()

    with_eq = [n for n in names if eq[n]]
    if with_eq:
        right.boxplot([eq[n] for n in with_eq], showmeans=True)
        right.set_xticks(range(1, len(with_eq) + 1), with_eq)
    right.set_ylabel("overall EQ (0..1)")
    right.set_title("Overall EQ by variant")
    right.grid(alpha=0.3, axis="y")
    eq_tests = [c for c in report.comparisons if c.metric == "mean_eq"]
    if eq_tests:
        right.set_xlabel(
            "; ".join(f"{c.variant} vs {c.baseline}: Δ={c.difference:+.3f}, p={c.p_value:.3g}"
                      for c in eq_tests)
        )

    fig.suptitle(f"A/B test '{report.test_name}' since {report.since:%Y-%m-%d %H:%M} UTC")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
