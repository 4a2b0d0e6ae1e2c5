"""Cache against a real server and a real Redis: hits, crisis results never cached, Redis killed."""

import shutil
import socket
import subprocess
import time
import uuid

import pytest

from pipeline_lib.client import PixelClient, load_client_settings

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CALM = "What is a good bedtime routine when stress keeps me awake?"
CRISIS = "I want to kill myself tonight, I have the pills ready."


def settings_for(server, redis_url: str):
    return load_client_settings([
        f"client.grpc_url={server.grpc_url}",
        "client.timeout_s=120",
        "client.cache.backend=redis",
        f"client.cache.redis_url={redis_url}",
        f"client.cache.prefix=pixel:e2e:{uuid.uuid4().hex}:",  # no clash with other runs
        "client.cache.retry_after_s=0",
    ])


@pytest.fixture
def own_redis_url():
    """A redis-server of our own that the test may kill (never the shared one)."""
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed (apt-get install redis-server)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                "--save", ""], stdout=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0", process
    process.kill()
    process.wait()


async def test_second_identical_call_hits_redis_and_crisis_results_are_not_cached(triton_server):
    session = f"e2e-{uuid.uuid4().hex}"
    async with PixelClient(settings_for(triton_server, "redis://127.0.0.1:6379/0")) as client:
        first = await client.infer(CALM, session, "general_support")
        again = await client.infer("  what is a GOOD bedtime routine when stress keeps me awake?",
                                   session, "general_support")
        assert not first.cache_hit and again.cache_hit and again.attempts == 0
        assert again.response_text == first.response_text
        assert again.eq_scores == pytest.approx(first.eq_scores)
        bypassed = await client.infer(CALM, session, "general_support", use_cache=False)
        assert not bypassed.cache_hit and bypassed.attempts == 1

        crisis = await client.infer(CRISIS, session, "crisis_support")
        assert crisis.crisis_flag, "the scoring model should flag this message"
        crisis_again = await client.infer(CRISIS, session, "crisis_support")
        assert crisis_again.crisis_flag and not crisis_again.cache_hit
        body = client.metrics.exposition().decode()
    assert ('pixel_client_crisis_flags_total{context_type="crisis_support",variant="control"} 2.0'
            in body)


async def test_redis_killed_calls_still_succeed(triton_server, own_redis_url, caplog):
    url, process = own_redis_url
    session = f"e2e-{uuid.uuid4().hex}"
    async with PixelClient(settings_for(triton_server, url)) as client:
        first = await client.infer(CALM, session, "general_support")
        assert (await client.infer(CALM, session, "general_support")).cache_hit
        process.kill()
        process.wait()
        after = await client.infer(CALM, session, "general_support")
        assert not after.cache_hit and after.response_text == first.response_text
        again = await client.infer(CALM, session, "general_support")
        assert not again.cache_hit
    outage_logs = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(outage_logs) == 1
