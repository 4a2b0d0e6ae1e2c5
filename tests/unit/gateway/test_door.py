"""The gateway's door against a real uvicorn, with the real `openai` SDK; no Triton behind it
(refusals reach no model; a call that does gets 503 and is recorded as failed)."""

import json
import urllib.error
import urllib.request

import openai
import pytest

from pipeline_lib.errors import ConfigError
from pipeline_lib.composition import load_app_config
from pipeline_lib.gateway.keys import KeyStore, create_key
from pipeline_lib.gateway.server import GatewayServer
from pipeline_lib.store.models import InferenceMetric, InferenceRequest
from tests.e2e.store_rows import rows
from tests.unit.gateway.running import free_port, running_gateway

MESSAGE = [{"role": "user", "content": "my private words about sleep"}]


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    """A gateway with one key (burst 2, slow refill) in front of a port where nothing listens."""
    folder = tmp_path_factory.mktemp("door")
    key = create_key(folder / "keys.json", "tests")
    with running_gateway(folder, triton_grpc_url=f"127.0.0.1:{free_port()}",
                         keys=KeyStore.load(folder / "keys.json", env={}),
                         overrides=["gateway.rate_limit.burst=2",
                                    "gateway.rate_limit.requests_per_minute=0.5",
                                    "gateway.max_body_bytes=2048",
                                    "client.retry.max_attempts=1"]) as server:
        yield server, key, folder


def sdk(server, key, **kwargs):
    return openai.OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0, **kwargs)


def get(url: str, key: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_refusals_come_as_the_sdks_typed_exceptions_naming_the_field(keyed):
    server, key, _ = keyed
    with pytest.raises(openai.AuthenticationError) as caught:
        sdk(server, "pxk-wrong").chat.completions.create(model="pixel", messages=MESSAGE)
    assert caught.value.code == "invalid_api_key"
    client = sdk(server, key)
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="pixel", messages=MESSAGE, n=2)
    assert caught.value.param == "n" and "n:" in caught.value.message
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGE)
    assert caught.value.param == "model"
    with pytest.raises(openai.RateLimitError) as caught:  # the burst of 2 is spent
        client.chat.completions.create(model="pixel", messages=MESSAGE)
    assert int(caught.value.response.headers["Retry-After"]) >= 1


def test_an_oversized_body_is_413_before_anything_is_parsed(tmp_path):
    with running_gateway(tmp_path, triton_grpc_url=f"127.0.0.1:{free_port()}",
                         overrides=["gateway.max_body_bytes=2048"]) as server:
        client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)
        with pytest.raises(openai.APIStatusError) as caught:
            client.chat.completions.create(
                model="pixel", messages=[{"role": "user", "content": "x" * 4096}])
        assert caught.value.status_code == 413 and caught.value.body["param"] == "body"
        with pytest.raises(openai.BadRequestError) as caught:
            client.chat.completions.create(
                model="pixel", messages=[*MESSAGE, {"role": "assistant", "content": "hi"}])
        assert caught.value.param == "messages[1].role"


async def test_a_call_that_reaches_no_server_is_503_and_recorded_once(tmp_path):
    with running_gateway(tmp_path, triton_grpc_url=f"127.0.0.1:{free_port()}",
                         overrides=["client.retry.max_attempts=1"]) as server:
        client = openai.AsyncOpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0)
        with pytest.raises(openai.InternalServerError) as caught:
            await client.chat.completions.create(model="pixel-psychoeducation", messages=MESSAGE)
        assert caught.value.status_code == 503
        session = caught.value.response.headers["X-Pixel-Conversation-Id"]
        status, body = get(server.url + "/health/ready")
        assert status == 503 and json.loads(body)["status"] == "not ready"
        status, metrics = get(server.url + "/metrics")
        assert b'pixel_gateway_requests_total{model="pixel-psychoeducation",status="503"' \
               b',stream="false"} 1.0' in metrics
        assert b"private" not in metrics and session.encode() not in metrics
    url = f"sqlite+aiosqlite:///{tmp_path / 'pixel.db'}"
    (request,) = await rows(url, InferenceRequest)  # the gateway flushed the recorder on stop
    (metric,) = await rows(url, InferenceMetric)
    assert request["context_type"] == "psychoeducation" and metric["error_kind"] == "unavailable"


def test_live_models_and_console_without_triton(keyed):
    server, key, _ = keyed
    assert get(server.url + "/health/live")[0] == 200
    status, body = get(server.url + "/v1/models", key)
    assert status == 200 and "pixel-crisis-support" in {m["id"] for m in json.loads(body)["data"]}
    assert get(server.url + "/v1/models")[0] == 401
    status, page = get(server.url + "/")
    assert status == 200 and b"crisis-banner" in page
    assert get(server.url + "/static/console.js")[0] == 200


def test_production_mode_refuses_to_start_without_keys(tmp_path):
    config = load_app_config(["gateway.mode=production",
                              f"gateway.keys.file={tmp_path / 'none.json'}"])
    with pytest.raises(ConfigError, match="gateway-keys create"):
        GatewayServer(config)
