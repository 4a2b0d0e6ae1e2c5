"""The report PNG is written and is a real image of the expected size."""

from __future__ import annotations

from datetime import datetime, timezone

import matplotlib.image

from pipeline_lib.store.analytics import Report
from pipeline_lib.store.plots import write_report_png
from pipeline_lib.store.significance import Comparison


def test_png_is_written(tmp_path):
    report = Report(since=datetime(2026, 11, 1, tzinfo=timezone.utc), test_name="pixel-ab")
    report.samples = [
        {"variant": v, "latency_ms": 100.0 + i, "overall_eq": 0.5 + i / 1000} for v in ("a", "b")
        for i in range(50)
    ]
    report.comparisons = [Comparison("mean_eq", "a", "b", 0.5, 0.52, 0.02, 0.01, 0.03, 0.01, "Welch t")]
    path = write_report_png(report, tmp_path / "out" / "report.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    height, width, _ = matplotlib.image.imread(path).shape
    assert width > height > 300
