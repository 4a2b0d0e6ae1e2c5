"""PixelClient.stream against the real server: deltas, the result, cancellation, each recorded once."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import select

from pipeline_lib.client import PixelClient, load_client_settings
from pipeline_lib.client.result import PixelResult
from pipeline_lib.client.stream_events import StreamDelta
from pipeline_lib.store import migrate
from pipeline_lib.store.engine import create_engine
from pipeline_lib.store.models import InferenceMetric, InferenceResult
from pipeline_lib.store.recorder import Recorder
from pipeline_lib.store.settings import StoreSettings
from tests.e2e.engine_calls import metric

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


async def recorded(url: str, model=InferenceMetric) -> list:
    """Rows of one outcome table: every call has one InferenceMetric row (with its error kind)."""
    engine = create_engine(url, pool=False)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(select(model.__table__))).mappings().all()
    finally:
        await engine.dispose()


@pytest.fixture
async def store(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'pixel.db'}"
    await migrate.upgrade_async(url)
    settings = StoreSettings.from_mapping({
        "url": url,
        "spool": {"dir": str(tmp_path / "spool"), "flush_interval_s": 0.05},
        "privacy": {"key_file": str(tmp_path / "store.key"), "key_env": "PIXEL_E2E_NO_SUCH_KEY"},
    })
    return url, settings


def client_settings(server):
    return load_client_settings([f"client.grpc_url={server.grpc_url}", "client.timeout_s=300",
                                 "client.cache.backend=none"])


async def test_stream_yields_the_assessment_deltas_and_the_result_recorded_once(triton_server, store):
    url, settings = store
    async with Recorder.from_settings(settings) as recorder:
        async with PixelClient(client_settings(triton_server), recorder=recorder) as client:
            events = [e async for e in client.stream(
                "Any tips for remembering to water my houseplants?", "stream-1",
                context_type="psychoeducation", max_new_tokens=24)]
        await recorder.flush()
    deltas, result = events[:-1], events[-1]
    assert isinstance(result, PixelResult) and all(isinstance(d, StreamDelta) for d in deltas)
    assert deltas[0].is_assessment and deltas[0].crisis_flag is False
    assert "".join(d.text for d in deltas) == result.response_text
    assert result.reply_persona == "psychoeducation" and result.finish_reason in ("stop", "length")
    (metric_row,) = await recorded(url)
    assert metric_row["request_id"] == result.request_id and metric_row["error_kind"] is None
    (result_row,) = await recorded(url, InferenceResult)
    assert result_row["reply_persona"] == "psychoeducation"
    assert result_row["crisis_reply_mode"] == "none"


async def test_32_concurrent_streams_are_each_recorded_once_and_a_closed_one_as_cancelled(
        triton_server, store):
    url, settings = store
    async with Recorder.from_settings(settings) as recorder:
        async with PixelClient(client_settings(triton_server), recorder=recorder) as client:

            async def complete(i: int) -> PixelResult:
                events = [e async for e in client.stream(
                    f"Day {i}: I keep putting off my assignments.", f"many-{uuid.uuid4().hex}",
                    max_new_tokens=4 + 3 * (i % 6))]
                return events[-1]

            async def abandon() -> None:
                async with client.stream("Tell me about your favourite long walk by the sea.",
                                         f"gone-{uuid.uuid4().hex}", max_new_tokens=200) as s:
                    async for event in s:
                        if not (isinstance(event, StreamDelta) and event.is_assessment):
                            break  # the reader goes away after its first words

            results = await asyncio.gather(*(complete(i) for i in range(32)), abandon())
        await recorder.flush()
    finals = results[:32]
    assert len({r.request_id for r in finals}) == 32
    rows = await recorded(url)
    assert len(rows) == 33 and len({r["request_id"] for r in rows}) == 33
    assert sorted(r["error_kind"] or "ok" for r in rows).count("cancelled") == 1
    for _ in range(300):  # the abandoned request's slot is freed at the engine's next steps
        if metric(triton_server.metrics_url, "pixel_engine_active_slots") == 0:
            break
        await asyncio.sleep(0.2)
    assert metric(triton_server.metrics_url, "pixel_engine_active_slots") == 0
