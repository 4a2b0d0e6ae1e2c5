"""The gateway's FastAPI app: the OpenAI routes, health, metrics and the browser console.

    app = create_app(client=client, settings=settings, keys=KeyStore.load(settings.keys_path))

The app does not own the client: whoever builds it (GatewayServer, from the composition root)
opens the client and its recorder before serving and closes them after.
"""

from __future__ import annotations

import time
from importlib import resources

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.staticfiles import StaticFiles

from pipeline_lib.client import PixelClient
from pipeline_lib.gateway.catalog import MODELS, model_list
from pipeline_lib.gateway.chat import ChatCompletions
from pipeline_lib.gateway.chat_route import ChatRoute
from pipeline_lib.gateway.errors import GatewayError
from pipeline_lib.gateway.keys import KeyStore
from pipeline_lib.gateway.metrics import GatewayMetrics
from pipeline_lib.gateway.ratelimit import RateLimiter
from pipeline_lib.gateway.settings import GatewaySettings

STATIC_DIR = resources.files("pipeline_lib.gateway") / "static"
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


def create_app(*, client: PixelClient, settings: GatewaySettings, keys: KeyStore,
               metrics: GatewayMetrics | None = None) -> FastAPI:
    metrics = metrics or GatewayMetrics()
    started = int(time.time())
    # FastAPI's native OpenTelemetry off: the gateway exports Prometheus metrics of its own, and
    # the check whether an OTel provider is configured costs CPU on every request.
    app = FastAPI(title="Pixel gateway", summary="OpenAI-compatible chat completions for Pixel",
                  docs_url="/docs", redoc_url=None,
                  telemetry={"tracing": False, "metrics": False, "logs": False})
    chat = ChatCompletions(client=client, settings=settings, keys=keys,
                           limiter=RateLimiter(settings.rate_limit), metrics=metrics)
    app.state.metrics = metrics

    @app.exception_handler(GatewayError)
    async def _gateway_error(_request: Request, error: GatewayError) -> Response:
        return error.response()

    @app.exception_handler(HTTPException)
    async def _http_error(_request: Request, error: HTTPException) -> Response:
        # Unknown paths and methods in the OpenAI error shape too.
        return GatewayError(error.status_code, str(error.detail), code=str(error.status_code),
                            headers=getattr(error, "headers", None)).response()

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, error: RequestValidationError) -> Response:
        first = error.errors()[0]
        param = ".".join(str(p) for p in first["loc"][1:]) or "body"
        return GatewayError(400, f"{param}: {first['msg']}", param=param).response()

    # Answered by ChatRoute ahead of the router (chat_route.py); declared here for the OpenAPI
    # page and for the 405 on other methods.
    @app.post("/v1/chat/completions", summary="Chat completion (stream=true: SSE chunks)")
    async def chat_completions(request: Request) -> Response:
        return await chat(request)

    app.add_middleware(ChatRoute, chat=chat)

    @app.get("/v1/models", summary="The served models and the context type of each")
    async def models(request: Request) -> Response:
        keys.authenticate(request.headers.get("authorization"))
        return JSONResponse(model_list(started))

    @app.get("/v1/models/{model}", summary="One served model")
    async def model(model: str, request: Request) -> Response:
        keys.authenticate(request.headers.get("authorization"))
        entry = next((m for m in model_list(started)["data"] if m["id"] == model), None)
        if entry is None:
            raise GatewayError(404, f"model: {model[:64]!r} is not served here", param="model",
                               code="model_not_found")
        return JSONResponse(entry)

    @app.get("/health/live", summary="The gateway process answers")
    async def live() -> Response:
        return JSONResponse({"status": "live"})

    @app.get("/health/ready", summary="Triton and every model it serves are ready")
    async def ready() -> Response:
        report = await client.health()
        body = {"status": "ready" if report.healthy else "not ready", "triton": report.url,
                "models": report.models, "error": report.error}
        return JSONResponse(body, status_code=200 if report.healthy else 503)

    @app.get("/metrics", summary="Prometheus metrics: pixel_gateway_* and pixel_client_*")
    async def prometheus() -> Response:
        return Response(metrics.exposition() + client.metrics.exposition(),
                        media_type=PROMETHEUS_TEXT)

    if settings.console:
        app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")

        @app.get("/", include_in_schema=False)
        async def console() -> Response:
            return FileResponse(str(STATIC_DIR / "index.html"))

    app.state.models = tuple(MODELS)
    return app
