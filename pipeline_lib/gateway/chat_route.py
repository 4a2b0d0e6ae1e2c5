"""POST /v1/chat/completions answered ahead of FastAPI's router: a thin ASGI layer.

Every chat completion used to pass FastAPI's exception, exit-stack and telemetry middlewares, its
router (a regex match per route) and its endpoint machinery before reaching `ChatCompletions`,
which does its own parsing and checks and builds its own responses anyway. On the two cores the
gateway shares with tritonserver that CPU is latency, so this layer hands the one hot route
straight to `ChatCompletions` and everything else (other paths, other methods on this path, which
keep FastAPI's 405 in the OpenAI shape) to the app. The route stays declared in the app, so the
OpenAPI page still lists it.

It sits inside Starlette's ServerErrorMiddleware (added with `app.add_middleware`): an unexpected
exception still becomes a 500 and is logged by uvicorn, as before. Refusals (401, 413, 429, 400
naming the field, 404) are built by `ChatCompletions` itself, in OpenAI's shape, unchanged.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from pipeline_lib.gateway.chat import ChatCompletions

CHAT_PATH = "/v1/chat/completions"


class ChatRoute:
    def __init__(self, app: ASGIApp, *, chat: ChatCompletions):
        self.app = app
        self.chat = chat

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] == "http" and scope["path"] == CHAT_PATH
                and scope["method"] == "POST"):
            response = await self.chat(Request(scope, receive))
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
