"""A/B significance tests from the per-variant sufficient statistics of analytics_sql.AB_COMPARISON.

Mean EQ and mean latency: Welch's t-test (unequal variances) with a 95% confidence interval of the
difference. Error rate: Fisher's exact test on the 2x2 table of errors and successes. Each variant is
compared with the baseline (given, else `control`, else the first by name); with several candidates, read
the p-values with a multiple-comparison correction in mind.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from scipy import stats

ALPHA = 0.05


@dataclass(frozen=True)
class Comparison:
    metric: str
    baseline: str
    variant: str
    baseline_value: float
    variant_value: float
    difference: float  # variant - baseline
    ci_low: float | None  # 95% interval of the difference (t-tests only)
    ci_high: float | None
    p_value: float
    test: str

    @property
    def significant(self) -> bool:
        return self.p_value < ALPHA


def _sample_sd(mean: float, mean_sq: float, n: int) -> float:
    # Sample variance from E[x] and E[x^2]; clamp tiny negative values from rounding.
    return math.sqrt(max(mean_sq - mean * mean, 0.0) * n / (n - 1)) if n > 1 else 0.0


def welch(metric: str, base: dict[str, Any], other: dict[str, Any], n_key: str, mean_key: str,
          sq_key: str) -> Comparison | None:
    n1, n2 = int(base[n_key] or 0), int(other[n_key] or 0)
    if n1 < 2 or n2 < 2:
        return None
    m1, m2 = float(base[mean_key]), float(other[mean_key])
    s1, s2 = _sample_sd(m1, float(base[sq_key]), n1), _sample_sd(m2, float(other[sq_key]), n2)
    difference = m2 - m1
    se = math.sqrt(s1 * s1 / n1 + s2 * s2 / n2)
    if se == 0:
        p_value, low, high = (1.0 if difference == 0 else 0.0), difference, difference
    else:
        result = stats.ttest_ind_from_stats(m2, s2, n2, m1, s1, n1, equal_var=False)
        p_value = float(result.pvalue)
        # Welch–Satterthwaite degrees of freedom for the interval.
        dof = se**4 / ((s1**2 / n1) ** 2 / (n1 - 1) + (s2**2 / n2) ** 2 / (n2 - 1))
        half = stats.t.ppf(1 - ALPHA / 2, dof) * se
        low, high = difference - half, difference + half
    return Comparison(metric, base["variant"], other["variant"], m1, m2, difference, low, high,
                      p_value, "Welch t")


def error_rate(base: dict[str, Any], other: dict[str, Any]) -> Comparison | None:
    n1, n2 = int(base["requests"]), int(other["requests"])
    e1, e2 = int(base["errors"]), int(other["errors"])
    if n1 == 0 or n2 == 0:
        return None
    p_value = 1.0 if e1 + e2 == 0 else float(stats.fisher_exact([[e1, n1 - e1], [e2, n2 - e2]]).pvalue)
    r1, r2 = e1 / n1, e2 / n2
    return Comparison("error_rate", base["variant"], other["variant"], r1, r2, r2 - r1, None, None,
                      p_value, "Fisher exact")


def compare_variants(rows: list[dict[str, Any]], baseline: str | None = None) -> list[Comparison]:
    """Every variant against the baseline on mean EQ, mean latency and error rate."""
    by_name = {row["variant"]: row for row in rows}
    if len(by_name) < 2:
        return []
    if baseline not in by_name:
        baseline = "control" if "control" in by_name else sorted(by_name)[0]
    base_name = baseline
    base = by_name[base_name]
    out: list[Comparison] = []
    for name in sorted(by_name):
        if name == base_name:
            continue
        other = by_name[name]
        for comparison in (
            welch("mean_eq", base, other, "scored", "mean_eq", "mean_sq_eq"),
            welch("mean_latency_ms", base, other, "requests", "mean_latency_ms", "mean_sq_latency_ms"),
            error_rate(base, other),
        ):
            if comparison is not None:
                out.append(comparison)
    return out
