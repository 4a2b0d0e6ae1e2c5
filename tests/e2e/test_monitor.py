"""`pixel monitor` shows live figures from the real server: the request counts it prints are the
ones Triton reports, and a second scrape turns new requests into a rate."""

from __future__ import annotations

import argparse
import re

import numpy as np
import pytest
import tritonclient.http as httpclient
from rich.console import Console

from pipeline_lib.cli import monitor as monitor_cli
from pipeline_lib.monitor import fetch_snapshot, render

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def ask(http_url: str, text: str) -> None:
    client = httpclient.InferenceServerClient(http_url)
    inputs = []
    for name, value in (("text", text), ("session_id", "monitor-test"), ("context_type", "general_support")):
        tensor = httpclient.InferInput(name, [1, 1], "BYTES")
        tensor.set_data_from_numpy(np.array([[value.encode()]], dtype=np.object_))
        inputs.append(tensor)
    client.infer("pixel", inputs)
    client.close()


def run_monitor(metrics_url: str, **options) -> str:
    args = argparse.Namespace(url=metrics_url, interval=1.0, once=False, count=0, models=None)
    vars(args).update(options)
    console = Console(width=200, record=True, force_terminal=False)
    assert monitor_cli.run(args, console=console) == 0
    return console.export_text()


def row_of(text: str, model: str) -> list[str]:
    line = next(ln for ln in text.splitlines() if re.match(rf"^\W*{model}\s", ln))
    return [cell.strip() for cell in re.split(r"[│|]", line) if cell.strip()]


def test_once_prints_the_servers_own_counts(triton_server):
    ask(triton_server.http_url, "I have been feeling low this week.")
    expected = fetch_snapshot(triton_server.metrics_url).models
    text = run_monitor(triton_server.metrics_url, once=True)
    assert "since server start" in text
    for model in ("pixel", "tokenizer", "pixel_lm", "scoring"):
        cells = row_of(text, model)
        assert cells[0] == model
        assert int(cells[2].replace(",", "")) == int(expected[model].success)
        assert int(expected[model].success) >= 1
        assert cells[4] != "-"  # a mean latency in ms


def test_two_scrapes_turn_a_request_into_a_rate(triton_server):
    previous = fetch_snapshot(triton_server.metrics_url)
    ask(triton_server.http_url, "Work has been stressful.")
    current = fetch_snapshot(triton_server.metrics_url)
    console = Console(width=200, record=True, force_terminal=False)
    console.print(render(current, previous, url=triton_server.metrics_url, models=["pixel"]))
    text = console.export_text()
    window = current.taken_at - previous.taken_at
    cells = row_of(text, "pixel")
    assert int(cells[2]) == 1  # exactly the one request sent between the scrapes
    assert float(cells[1]) == pytest.approx(1 / window, abs=0.01)


def test_live_mode_redraws_with_figures_over_the_interval(triton_server):
    text = run_monitor(triton_server.metrics_url, interval=0.5, count=2, models=["pixel_lm"])
    assert text.count("over the last") >= 1
    assert row_of(text.split("over the last")[-1], "pixel_lm")[0] == "pixel_lm"
    assert "tokenizer" not in text  # --model filters
