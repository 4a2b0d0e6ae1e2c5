"""The spool's disk cap during a real outage (PostgreSQL behind a proxy that a test stops): the
usage figures grow, near the cap the flag turns, at the cap fail_closed refuses new calls until
the spool drains, and drop_newest drops (logs and counts) instead. Nothing is lost silently."""

from __future__ import annotations

import logging
import socket
from dataclasses import replace

import pytest

from pipeline_lib.client import PixelClient
from pipeline_lib.client.errors import OutcomesBackedUpError
from pipeline_lib.client.metrics import ClientMetrics
from pipeline_lib.store import migrate
from pipeline_lib.store.recorder import Recorder, SpoolFullError
from pipeline_lib.store.spool import Spool


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def capped(settings, *, records: float, line_bytes: int, at_cap: str):
    """Settings whose cap holds `records` outcomes of about `line_bytes` each (lines differ by a
    few bytes: a half-line margin keeps the count exact)."""
    return replace(settings, spool=replace(settings.spool, max_bytes=int(records * line_bytes),
                                           near_cap_fraction=0.5, at_cap=at_cap))


async def line_size(settings, new_outcome) -> int:
    async with Recorder.from_settings(settings) as recorder:
        await recorder.record(new_outcome(0))
        return recorder.usage.bytes  # the database is down: it stays in the spool


async def test_fail_closed_refuses_at_the_cap_until_the_spool_drains(
        pg_database, pg_proxy, settings_for, new_outcome, tmp_path):
    await migrate.upgrade_async(pg_database)
    proxied = pg_database.replace(":5432/", f":{pg_proxy.port}/")
    await pg_proxy.stop()  # the outage starts
    size = await line_size(settings_for(proxied, spool=replace(
        settings_for(proxied).spool, dir=tmp_path / "probe-spool")), new_outcome)
    settings = capped(settings_for(proxied), records=3.5, line_bytes=size, at_cap="fail_closed")
    metrics = ClientMetrics()
    async with Recorder.from_settings(settings) as recorder:
        for i in range(3):
            await recorder.record(new_outcome(i))
        assert recorder.near_cap and recorder.accepting
        await recorder.record(new_outcome(3))
        assert recorder.at_cap and not recorder.accepting
        with pytest.raises(SpoolFullError) as info:
            recorder.check_accepting()
        assert "store.spool.max_bytes" in str(info.value)
        metrics.observe_spool(recorder)
        body = metrics.exposition().decode()
        assert "pixel_client_spool_records 4.0" in body
        assert f"pixel_client_spool_bytes {float(recorder.usage.bytes)}" in body
        assert f"pixel_client_spool_cap_bytes {float(int(3.5 * size))}" in body
        # The usage the recorder counted is what is on disk.
        assert Spool(settings.spool_dir).usage() == recorder.usage
        # A client holding this recorder refuses before any work (the server is never asked).
        async with PixelClient(url="127.0.0.1:9", cache=None, recorder=recorder) as client:
            with pytest.raises(OutcomesBackedUpError) as refused:
                await client.infer("Are you there?", "spool-cap-session")
            assert refused.value.retryable and refused.value.kind == "unavailable"

        await pg_proxy.start()  # the database is back: the spool drains, calls are taken again
        assert await recorder.flush() == 0
        assert recorder.accepting and not recorder.near_cap
        assert recorder.usage.records == 0


async def test_drop_newest_keeps_serving_and_logs_each_drop(
        settings_for, new_outcome, tmp_path, caplog):
    down = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nothing_here"
    size = await line_size(settings_for(down, spool=replace(
        settings_for(down).spool, dir=tmp_path / "probe-spool")), new_outcome)
    settings = capped(settings_for(down), records=2.5, line_bytes=size, at_cap="drop_newest")
    caplog.set_level(logging.ERROR, logger="pipeline_lib.store.recorder")
    metrics = ClientMetrics()
    async with Recorder.from_settings(settings) as recorder:
        kept = [new_outcome(i) for i in range(2)]
        dropped = new_outcome(2)
        for outcome in (*kept, dropped):
            await recorder.record(outcome)
        assert recorder.accepting  # drop_newest never refuses
        recorder.check_accepting()
        assert recorder.dropped == 1 and recorder.usage.records == 2
        metrics.observe_spool(recorder)
        assert "pixel_client_spool_dropped_total 1.0" in metrics.exposition().decode()
    assert dropped.request_id in caplog.text and "drop_newest" in caplog.text
    assert dropped.user_text not in caplog.text  # the log names the outcome, never its text
