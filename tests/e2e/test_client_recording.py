"""The recorder hook end to end: a real server answers, the store's Recorder writes SQLite rows."""

import uuid

import pytest

from pipeline_lib.client import InvalidRequestError, PixelClient, load_client_settings
from pipeline_lib.store.models import CrisisAlert, InferenceRequest, InferenceResult
from pipeline_lib.store.recorder import Recorder
from tests.e2e.store_rows import rows, sqlite_store

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CRISIS = "I don't want to live anymore and I have a plan to end it."


async def test_each_call_is_recorded_with_its_outcome(triton_server, tmp_path):
    url, store = await sqlite_store(tmp_path)
    settings = load_client_settings([f"client.grpc_url={triton_server.grpc_url}",
                                     "client.timeout_s=120", "client.cache.backend=none"])
    session = f"e2e-{uuid.uuid4().hex}"
    async with Recorder.from_settings(store) as recorder:
        async with PixelClient(settings, recorder=recorder) as client:
            result = await client.infer(CRISIS, session, "crisis_support")
            with pytest.raises(InvalidRequestError):
                await client.infer("", session, "crisis_support")
        await recorder.flush()
    assert result.crisis_flag
    (request,) = await rows(url, InferenceRequest, result.request_id)
    (stored,) = await rows(url, InferenceResult, result.request_id)
    assert await rows(url, CrisisAlert, result.request_id)
    assert CRISIS not in str(dict(request)) and session not in str(dict(request))
    assert stored["overall_eq"] == pytest.approx(result.overall_eq)
