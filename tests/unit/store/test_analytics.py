"""The analytics SQL on both dialects, checked against the same numbers computed in Python,
and the analyst's path: the SQL text run by psql itself."""

from __future__ import annotations

import math
import subprocess
from datetime import datetime, timedelta, timezone

from pipeline_lib.store import crud, migrate
from pipeline_lib.store.analytics import build_report
from pipeline_lib.store.analytics_sql import VARIANT_SUMMARY
from pipeline_lib.store.engine import create_engine
from pipeline_lib.store.recorder import Recorder
from pipeline_lib.store.synthetic import synthetic_outcomes


def nearest_rank(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(math.ceil(p * len(ordered)), 1) - 1]


async def _seed(url: str, settings, outcomes) -> None:
    await migrate.upgrade_async(url)
    async with Recorder.from_settings(settings) as recorder:
        for outcome in outcomes:
            await recorder.record(outcome)
        assert await recorder.flush() == 0


async def test_report_numbers_match_python(any_url, settings_for):
    outcomes = synthetic_outcomes(400, seed=3)
    old = synthetic_outcomes(50, seed=4, now=datetime.now(timezone.utc) - timedelta(days=3))
    await _seed(any_url, settings_for(any_url), outcomes + old)
    engine = create_engine(any_url)
    async with engine.begin() as conn:
        await crud.add_feedback(conn, request_id=outcomes[0].request_id, rating=5,
                                crisis_confirmed=bool(outcomes[0].crisis_flag))
    since = datetime.now(timezone.utc) - timedelta(days=1)
    report = await build_report(engine, since=since, test_name="pixel-ab")
    await engine.dispose()

    by_variant = {row["variant"]: row for row in report.variants}
    assert set(by_variant) == {"control", "candidate"}
    for name, row in by_variant.items():
        mine = [o for o in outcomes if o.variant == name]  # the 3-day-old ones are outside
        latencies = [o.latency_ms for o in mine]
        assert row["requests"] == len(mine)
        for p, column in ((0.5, "p50_latency_ms"), (0.95, "p95_latency_ms"), (0.99, "p99_latency_ms")):
            assert math.isclose(row[column], nearest_rank(latencies, p), rel_tol=1e-9)
        eqs = [o.overall_eq for o in mine if o.overall_eq is not None]
        assert math.isclose(row["mean_eq"], sum(eqs) / len(eqs), rel_tol=1e-9)
        assert row["crisis_count"] == sum(bool(o.crisis_flag) for o in mine)
        errors = sum(o.error_kind is not None for o in mine)
        assert math.isclose(row["error_rate"], errors / len(mine), rel_tol=1e-9)
    assert {row["variant"]: row["requests"] for row in report.ab} == {
        n: r["requests"] for n, r in by_variant.items()
    }
    alerts = {row["alert"]: row["total"] for row in report.alerts}
    assert alerts["crisis alerts"] == sum(bool(o.crisis_flag) for o in outcomes)
    assert alerts["performance alerts"] == sum(o.latency_ms > 2000 for o in outcomes)
    assert sum(row["ratings"] for row in report.feedback) == 1
    assert {c.metric for c in report.comparisons} == {"mean_eq", "mean_latency_ms", "error_rate"}
    assert len(report.samples) == len(outcomes)


async def test_an_analyst_can_run_the_sql_in_psql(pg_database, settings_for, tmp_path):
    outcomes = synthetic_outcomes(120, seed=5)
    await _seed(pg_database, settings_for(pg_database), outcomes)
    sql_file = tmp_path / "variants.sql"
    sql_file.write_text(VARIANT_SUMMARY)
    database = pg_database.rsplit("/", 1)[1]
    output = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1",
         "-v", "since='2000-01-01'", "-A", "-t", "-F", ",", "-f", str(sql_file)],
        check=True, capture_output=True, text=True,
    ).stdout
    counts = {line.split(",")[0]: int(line.split(",")[1]) for line in output.strip().splitlines()}
    assert counts == {
        name: sum(o.variant == name for o in outcomes) for name in ("candidate", "control")
    }


def test_docs_list_the_sql_an_analyst_runs():
    from pipeline_lib.checkpoints import project_root
    from pipeline_lib.store.analytics_sql import QUERIES

    docs = (project_root() / "docs" / "store.md").read_text()
    for name, sql in QUERIES.items():
        assert sql.strip() in docs, f"docs/store.md lacks the current `{name}` query"
    readme = (project_root() / "README.md").read_text()
    for name in ("variants", "ab"):
        assert QUERIES[name].strip() in readme, f"README.md lacks the current `{name}` query"
