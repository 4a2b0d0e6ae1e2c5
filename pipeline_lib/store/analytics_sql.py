"""The analytics SQL behind `pixel report`: plain SQL that runs unchanged on PostgreSQL and SQLite.

An analyst can run any of these in psql (docs/store.md shows how): parameters are `:since` (a
timestamp) and `:test_name`, which psql fills from `-v since="'2026-11-01'" -v test_name="'pixel-ab'"`.
Percentiles are nearest-rank (the smallest value with at least p of the calls at or below it),
computed with window functions because SQLite has no percentile_cont.
"""

from __future__ import annotations

VARIANT_SUMMARY = """
-- Per A/B variant since the window start: volume, latency percentiles, mean scores, crises, errors, cache.
WITH calls AS (
    SELECT r.variant, m.latency_ms, m.error_kind, m.cache_hit,
           res.overall_eq, res.safety_score, res.bias_score, res.crisis_flag,
           ROW_NUMBER() OVER (PARTITION BY r.variant ORDER BY m.latency_ms) AS latency_rank,
           COUNT(*) OVER (PARTITION BY r.variant) AS n
    FROM inference_requests r
    JOIN inference_metrics m ON m.request_id = r.request_id
    LEFT JOIN inference_results res ON res.request_id = r.request_id
    WHERE r.created_at >= :since
)
SELECT variant,
       COUNT(*) AS requests,
       MIN(CASE WHEN latency_rank >= 0.50 * n THEN latency_ms END) AS p50_latency_ms,
       MIN(CASE WHEN latency_rank >= 0.95 * n THEN latency_ms END) AS p95_latency_ms,
       MIN(CASE WHEN latency_rank >= 0.99 * n THEN latency_ms END) AS p99_latency_ms,
       AVG(overall_eq) AS mean_eq,
       AVG(safety_score) AS mean_safety,
       AVG(bias_score) AS mean_bias,
       SUM(CASE WHEN crisis_flag THEN 1 ELSE 0 END) AS crisis_count,
       AVG(CASE WHEN error_kind IS NOT NULL THEN 1.0 ELSE 0.0 END) AS error_rate,
       AVG(CASE WHEN cache_hit THEN 1.0 ELSE 0.0 END) AS cache_hit_rate
FROM calls
GROUP BY variant
ORDER BY variant
"""

AB_COMPARISON = """
-- Sufficient statistics per variant of one A/B test since the window start (the report adds the tests).
SELECT t.name AS test_name,
       a.variant,
       COUNT(*) AS requests,
       COUNT(a.overall_eq) AS scored,
       AVG(a.overall_eq) AS mean_eq,
       AVG(a.overall_eq * a.overall_eq) AS mean_sq_eq,
       AVG(a.latency_ms) AS mean_latency_ms,
       AVG(a.latency_ms * a.latency_ms) AS mean_sq_latency_ms,
       SUM(CASE WHEN a.is_error THEN 1 ELSE 0 END) AS errors,
       SUM(CASE WHEN a.crisis_flag THEN 1 ELSE 0 END) AS crises
FROM ab_test_results a
JOIN ab_tests t ON t.id = a.ab_test_id
WHERE a.created_at >= :since AND t.name = :test_name
GROUP BY t.name, a.variant
ORDER BY a.variant
"""

ALERT_COUNTS = """
-- Alerts raised since the window start, by kind; open crisis alerts still need a human.
SELECT 'crisis alerts' AS alert, COUNT(*) AS total,
       SUM(CASE WHEN status = 'open' THEN 1 ELSE 0 END) AS still_open
FROM crisis_alerts WHERE created_at >= :since
UNION ALL
SELECT 'bias incidents', COUNT(*), NULL FROM bias_incidents WHERE created_at >= :since
UNION ALL
SELECT 'performance alerts', COUNT(*), NULL FROM performance_alerts WHERE created_at >= :since
"""

FEEDBACK_ACCURACY = """
-- Human ratings since the window start: acceptable = rating >= 4; crisis recall = flagged among confirmed crises.
SELECT r.variant,
       COUNT(f.id) AS ratings,
       AVG(f.rating * 1.0) AS mean_rating,
       AVG(CASE WHEN f.rating >= 4 THEN 1.0 ELSE 0.0 END) AS acceptable_rate,
       SUM(CASE WHEN f.crisis_confirmed THEN 1 ELSE 0 END) AS confirmed_crises,
       AVG(CASE WHEN f.crisis_confirmed AND res.crisis_flag IS NOT NULL
                THEN CASE WHEN res.crisis_flag THEN 1.0 ELSE 0.0 END END) AS crisis_recall
FROM feedback f
JOIN inference_requests r ON r.request_id = f.request_id
LEFT JOIN inference_results res ON res.request_id = f.request_id
WHERE r.created_at >= :since
GROUP BY r.variant
ORDER BY r.variant
"""

PLOT_SAMPLES = """
-- Raw latency and EQ per call since the window start (for the report's plot).
SELECT r.variant, m.latency_ms, res.overall_eq
FROM inference_requests r
JOIN inference_metrics m ON m.request_id = r.request_id
LEFT JOIN inference_results res ON res.request_id = r.request_id
WHERE r.created_at >= :since
"""

QUERIES = {
    "variants": VARIANT_SUMMARY,
    "ab": AB_COMPARISON,
    "alerts": ALERT_COUNTS,
    "feedback": FEEDBACK_ACCURACY,
    "samples": PLOT_SAMPLES,
}
