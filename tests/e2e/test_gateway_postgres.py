"""The gateway recording into the real PostgreSQL (127.0.0.1:5432): a unary call, a finished
stream and a stream the caller abandons are each recorded exactly once, with their outcome."""

import asyncio
import uuid

import asyncpg
import openai
import pytest

from pipeline_lib.store import migrate
from pipeline_lib.store.models import InferenceMetric, InferenceRequest, InferenceResult
from tests.e2e.store_rows import rows
from tests.unit.gateway.running import running_gateway

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PG = dict(host="127.0.0.1", port=5432, user="postgres")


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(**PG, database="postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def postgres_url():
    """A fresh, migrated database of this module's own (the operator's `pixel db upgrade`)."""
    name = f"pixel_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    url = f"postgresql+asyncpg://{PG['user']}@{PG['host']}:{PG['port']}/{name}"
    try:
        asyncio.run(migrate.upgrade_async(url))
        yield url
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def gateway(triton_server, postgres_url, tmp_path_factory):
    folder = tmp_path_factory.mktemp("gateway-postgres")
    with running_gateway(folder, triton_grpc_url=triton_server.grpc_url,
                         overrides=["client.timeout_s=240", f"store.url={postgres_url}"]) as server:
        yield server


async def recorded_once(url: str, request_id: str) -> dict:
    """The request's one metric row, once the recorder wrote it; fails on none or two."""
    for _ in range(200):
        found = await rows(url, InferenceMetric, request_id)
        if found:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)  # a second record would have come by now
    (metric,) = await rows(url, InferenceMetric, request_id)
    assert len(await rows(url, InferenceRequest, request_id)) == 1
    return metric


async def test_unary_stream_and_abandoned_stream_are_each_recorded_once(gateway, postgres_url):
    client = openai.AsyncOpenAI(base_url=gateway.url + "/v1", api_key="unused", max_retries=0)
    ask = dict(model="pixel", messages=[{"role": "user", "content": "Work is a lot lately."}])

    completion = await client.chat.completions.create(**ask, max_tokens=8)
    unary_id = completion.pixel["request_id"]

    stream = await client.chat.completions.create(**ask, max_tokens=8, stream=True)
    chunks = [chunk async for chunk in stream]
    streamed_id = chunks[-1].pixel["request_id"]

    abandoned = await client.chat.completions.create(**ask, max_tokens=48, stream=True)
    first = await abandoned.__anext__()
    assert first.pixel["event"] == "assessment"
    await abandoned.close()  # the caller goes away before the reply is complete
    abandoned_id = first.id.removeprefix("chatcmpl-")

    assert len({unary_id, streamed_id, abandoned_id}) == 3
    for request_id in (unary_id, streamed_id):
        metric = await recorded_once(postgres_url, request_id)
        assert metric["error_kind"] is None
        assert len(await rows(postgres_url, InferenceResult, request_id)) == 1
    metric = await recorded_once(postgres_url, abandoned_id)
    assert metric["error_kind"] == "cancelled"
    # A partial reply may be kept with its assessment; never twice.
    assert len(await rows(postgres_url, InferenceResult, abandoned_id)) <= 1
