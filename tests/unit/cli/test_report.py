"""`pixel report` on synthetic outcomes in the embedded store: tables, A/B tests, PNG, SQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from pipeline_lib.cli import main
from pipeline_lib.cli.report import parse_since
from pipeline_lib.errors import InvalidInputError


def test_report_prints_tables_and_writes_the_plot(state, capsys):
    assert main(["db", "seed-synthetic", "--count", "600"]) == 0
    capsys.readouterr()
    png = state / "plots" / "ab.png"
    assert main(["report", "--png", str(png)]) == 0
    out = capsys.readouterr().out
    for expected in ("Per variant", "control", "candidate", "A/B test 'pixel-ab'", "mean_eq",
                     "Fisher exact", "crisis alerts", "Human ratings", "plot written"):
        assert expected in out, expected
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_short_report_on_an_empty_window(state, capsys):
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()
    assert main(["report", "--short", "--no-png"]) == 0
    out = capsys.readouterr().out
    assert "no rows in this window" in out and "Alerts" not in out


def test_sql_for_analysts(capsys):
    assert main(["report", "--sql", "variants"]) == 0
    out = capsys.readouterr().out
    assert "ROW_NUMBER() OVER" in out and ":since" in out


def test_since_parsing():
    now = datetime(2026, 11, 24, 12, tzinfo=timezone.utc)
    assert parse_since("24h", now) == now - timedelta(hours=24)
    assert parse_since("7d", now) == now - timedelta(days=7)
    assert parse_since("2026-11-01", now) == datetime(2026, 11, 1, tzinfo=timezone.utc)
    with pytest.raises(InvalidInputError, match="--since"):
        parse_since("yesterday", now)
