"""The chat route ahead of FastAPI's router: the same answers and refusals as through the router
(OpenAI's error shape, the field named), other methods and paths still the app's, an unexpected
error still a 500."""

import json
import uuid

import pytest

from pipeline_lib.client import PixelResult
from pipeline_lib.client.result import ModelOutputs
from pipeline_lib.gateway.app import create_app
from pipeline_lib.gateway.chat_route import CHAT_PATH
from pipeline_lib.gateway.keys import KeyStore
from pipeline_lib.gateway.settings import GatewaySettings

OUTPUTS = ModelOutputs(response_text="That sounds hard.", eq_scores=(0.5,) * 5, overall_eq=0.5,
                       safety_score=0.9, bias_score=0.1, persona_mode="supportive",
                       crisis_flag=False, server_time_ms=12.0, finish_reason="stop")
MESSAGES = [{"role": "user", "content": "I can't sleep"}]


class FakeMetrics:
    def exposition(self) -> bytes:
        return b""


class FakeClient:
    """PixelClient's infer, answering at once (or failing as a bug would)."""

    metrics = FakeMetrics()

    def __init__(self, *, broken: bool = False):
        self.broken = broken
        self.calls = 0

    async def infer(self, text, session, context_type, **options):
        self.calls += 1
        if self.broken:
            raise RuntimeError("a bug, not a ClientError")
        return PixelResult.from_outputs(
            OUTPUTS, request_id=uuid.uuid4().hex, variant="control", model_name="pixel",
            model_version="", context_type=context_type, latency_ms=1.0, cache_hit=False,
            attempts=1)


class Answer:
    def __init__(self, messages: list[dict]):
        start = next(m for m in messages if m["type"] == "http.response.start")
        self.status_code = start["status"]
        self.headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
        self.text = b"".join(m.get("body", b"") for m in messages
                             if m["type"] == "http.response.body").decode()

    def json(self):
        return json.loads(self.text)


async def call(app, method: str, path: str, *, content: bytes = b"", json_body=None) -> Answer:
    """One HTTP exchange straight through the ASGI app (what uvicorn does, minus the socket)."""
    if json_body is not None:
        content = json.dumps(json_body).encode()
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "client": ("127.0.0.1", 50000),
             "server": ("gateway", 80),
             "headers": [(b"host", b"gateway"), (b"content-type", b"application/json"),
                         (b"content-length", str(len(content)).encode())]}
    messages: list[dict] = []
    pending = [{"type": "http.request", "body": content, "more_body": False}]

    async def receive():
        return pending.pop() if pending else {"type": "http.disconnect"}

    async def send(message):
        messages.append(message)

    try:
        await app(scope, receive, send)
    except RuntimeError:  # ServerErrorMiddleware answers 500, then re-raises for the server log
        pass
    return Answer(messages)


async def test_chat_is_answered_ahead_of_the_router():
    client = FakeClient()
    app = create_app(client=client, settings=GatewaySettings(), keys=KeyStore())
    # Without the router's route, only ChatRoute can answer POST /v1/chat/completions.
    app.router.routes[:] = [r for r in app.router.routes if getattr(r, "path", "") != CHAT_PATH]
    response = await call(app, "POST", CHAT_PATH, json_body={
        "model": "pixel", "messages": MESSAGES, "user": "conversation-1"})
    assert response.status_code == 200 and client.calls == 1
    body = response.json()
    assert body["object"] == "chat.completion" and body["pixel"]["overall_eq"] == 0.5
    assert body["choices"][0]["message"]["content"] == "That sounds hard."
    assert response.headers["x-pixel-conversation-id"] == "conversation-1"
    assert response.headers["content-type"] == "application/json"


@pytest.mark.parametrize(("send", "status", "param", "code"), [
    ({"content": b"{not json"}, 400, "body", "invalid_json"),
    ({"json_body": {"model": "pixel", "messages": MESSAGES, "n": 2}}, 400, "n",
     "unsupported_parameter"),
    ({"json_body": {"model": "pixel", "messages": [{"role": "user", "content": 3}]}}, 400,
     "messages[0].content", "invalid_value"),
    ({"json_body": {"model": "gpt-4o", "messages": MESSAGES}}, 404, "model", "model_not_found"),
    ({"content": b"x" * 2048}, 413, "body", "request_too_large"),
])
async def test_refusals_keep_the_openai_shape(send, status, param, code):
    client = FakeClient()
    app = create_app(client=client, settings=GatewaySettings(max_body_bytes=1024),
                     keys=KeyStore())
    response = await call(app, "POST", CHAT_PATH, **send)
    error = response.json()["error"]
    assert (response.status_code, error["param"], error["code"]) == (status, param, code)
    assert client.calls == 0


async def test_other_methods_and_paths_still_go_through_the_app():
    app = create_app(client=FakeClient(), settings=GatewaySettings(), keys=KeyStore())
    wrong_method = await call(app, "GET", CHAT_PATH)
    models = await call(app, "GET", "/v1/models")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "405"  # the app's handler, OpenAI's shape
    assert models.status_code == 200 and models.json()["object"] == "list"


async def test_an_unexpected_error_is_still_a_500():
    app = create_app(client=FakeClient(broken=True), settings=GatewaySettings(),
                     keys=KeyStore())
    response = await call(app, "POST", CHAT_PATH,
                          json_body={"model": "pixel", "messages": MESSAGES})
    assert response.status_code == 500
    assert "a bug" not in response.text  # no internals (nor user text) in the answer
