"""PixelClient.stream against the real server: deltas, the result, cancellation, each recorded once."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from pipeline_lib.client import PixelClient, load_client_settings
from pipeline_lib.client.result import PixelResult
from pipeline_lib.client.stream_events import StreamDelta
from pipeline_lib.store.models import InferenceMetric, InferenceResult
from pipeline_lib.store.recorder import Recorder
from tests.e2e.engine_calls import metric
from tests.e2e.store_rows import rows, sqlite_store

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


async def recorded(url: str, model=InferenceMetric) -> list:
    """Rows of one outcome table: every call has one InferenceMetric row (with its error kind)."""
    return await rows(url, model)


@pytest.fixture
async def store(tmp_path):
    return await sqlite_store(tmp_path)


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
