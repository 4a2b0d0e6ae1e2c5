"""PixelClient paths that need no tritonserver: nothing listening, cache hits, recording."""

import socket

import pytest

from pipeline_lib.client import ClientSettings, PixelClient
from pipeline_lib.client.cache import MemoryCache, cache_key
from pipeline_lib.client.errors import InvalidRequestError, ServerUnavailableError
from pipeline_lib.client.result import ModelOutputs
from pipeline_lib.client.retry import RetryPolicy
from pipeline_lib.store.records import OutcomeRecord

SECRET = "my neighbour's name is Zebulon and I feel hopeless"


def closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"  # closed again when we return: nothing listens


def settings(**changes) -> ClientSettings:
    base = ClientSettings(
        retry=RetryPolicy(max_attempts=50, initial_backoff_s=0.01, max_backoff_s=0.05),
        timeout_s=1.0,
    )
    return ClientSettings(**{**base.__dict__, **changes})


class CollectingRecorder:
    """Stands where pipeline_lib.store's Recorder goes: keeps the records it is handed."""

    def __init__(self):
        self.records: list[OutcomeRecord] = []

    async def record(self, record: OutcomeRecord) -> None:
        self.records.append(record)


@pytest.mark.parametrize("protocol", ["grpc", "http"])
async def test_no_server_fails_as_unavailable_within_deadline_and_counts_retries(protocol):
    recorder = CollectingRecorder()
    async with PixelClient(settings(protocol=protocol), url=closed_port(),
                           recorder=recorder) as client:
        with pytest.raises(ServerUnavailableError, match="pixel health"):
            await client.infer(SECRET, "session-1", "crisis_support", timeout=0.5)
        body = client.metrics.exposition().decode()
    assert 'pixel_client_errors_total{kind="unavailable",variant="control"} 1.0' in body
    attempts = [l for l in body.splitlines() if l.startswith("pixel_client_attempts_total{")]
    assert float(attempts[0].split()[-1]) > 1  # retried before giving up
    assert "Zebulon" not in body and "session-1" not in body
    (record,) = recorder.records
    assert record.error_kind == "unavailable" and record.response_text is None
    assert record.user_text == SECRET and record.model_version == "latest"


async def test_cache_hit_answers_without_the_server_and_is_recorded():
    cache = MemoryCache()
    recorder = CollectingRecorder()
    client = PixelClient(settings(), url=closed_port(), cache=cache, recorder=recorder)
    variant = client.router.assign("s-42")
    stored = ModelOutputs("Let's breathe together.", (0.5,) * 5, 0.5, 0.95, 0.02, "calm",
                          False, 700.0)
    key = cache_key(key=client.settings.cache.key.encode(), variant=variant,
                    context_type="general_support", text="I can't  SLEEP")
    await cache.put(key, stored)
    async with client:
        result = await client.infer("i can't sleep", "s-42")
        assert result.cache_hit and result.attempts == 0
        assert result.outputs == stored and result.variant == "control"
        with pytest.raises(ServerUnavailableError):  # bypass goes to the (absent) server
            await client.infer("i can't sleep", "s-42", use_cache=False, timeout=0.3)
        body = client.metrics.exposition().decode()
    assert 'pixel_client_cache_lookups_total{result="hit",variant="control"} 1.0' in body
    assert 'pixel_client_cache_lookups_total{result="bypass",variant="control"} 1.0' in body
    assert [r.cache_hit for r in recorder.records] == [True, False]
    assert recorder.records[0].eq_scores == (0.5,) * 5


async def test_wrong_types_are_refused_before_any_network_call():
    async with PixelClient(settings(), url=closed_port()) as client:
        with pytest.raises(InvalidRequestError, match="text: must be a str"):
            await client.infer(None, "s")  # type: ignore[arg-type]
        with pytest.raises(InvalidRequestError, match="session_id"):
            await client.infer("hi", "")
        assert b"pixel_client_attempts_total{" not in client.metrics.exposition()


@pytest.mark.parametrize("protocol", ["grpc", "http"])
async def test_health_of_a_missing_server_is_a_report_not_an_exception(protocol):
    async with PixelClient(settings(protocol=protocol, health_timeout_s=0.5),
                           url=closed_port()) as client:
        report = await client.health()
    assert not report.healthy and not report.live
    assert "unavailable" in report.error


async def test_batch_infer_keeps_order_with_cache_hits_and_errors():
    cache = MemoryCache()
    async with PixelClient(settings(), url=closed_port(), cache=cache) as client:
        for i in (0, 2):
            variant = client.router.assign(f"s{i}")
            await cache.put(
                cache_key(key=client.settings.cache.key.encode(), variant=variant,
                          context_type="general_support", text=f"text {i}"),
                ModelOutputs(f"answer {i}", (0.1,) * 5, 0.1, 1.0, 0.0, "calm", False, 1.0),
            )
        outcomes = await client.batch_infer(
            [(f"text {i}", f"s{i}", "general_support", 0.3) for i in range(3)]
        )
    assert [o.ok for o in outcomes] == [True, False, True]
    assert outcomes[0].result.response_text == "answer 0"
    assert outcomes[2].result.response_text == "answer 2"
    assert isinstance(outcomes[1].error, ServerUnavailableError)


async def test_generation_options_bypass_the_cache_and_older_fields_stay_optional():
    cache = MemoryCache()
    recorder = CollectingRecorder()
    client = PixelClient(settings(), url=closed_port(), cache=cache, recorder=recorder)
    variant = client.router.assign("s-7")
    await cache.put(cache_key(key=client.settings.cache.key.encode(), variant=variant,
                              context_type="general_support", text="hello"),
                    ModelOutputs("cached", (0.5,) * 5, 0.5, 1.0, 0.0, "calm", False, 1.0))
    async with client:
        assert (await client.infer("hello", "s-7")).response_text == "cached"
        with pytest.raises(ServerUnavailableError):  # a 16-token reply is not the cached one
            await client.infer("hello", "s-7", max_new_tokens=16, timeout=0.3)
        body = client.metrics.exposition().decode()
    assert 'pixel_client_cache_lookups_total{result="bypass",variant="control"} 1.0' in body
    hit, failed = recorder.records
    assert hit.reply_persona is None and hit.finish_reason is None
    assert failed.error_kind == "unavailable"
