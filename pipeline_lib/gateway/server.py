"""GatewayServer: the client, its recorder and the app under uvicorn, in one event loop.

    asyncio.run(GatewayServer(load_app_config()).serve())     # `pixel gateway`
    server = GatewayServer(config); server.start_in_thread()  # tests, benchmarks, the demo
    ...; server.stop()

Production mode refuses to start without API keys.
"""

from __future__ import annotations

import asyncio
import logging
import threading

import uvicorn

from pipeline_lib.composition import AppConfig, open_client
from pipeline_lib.errors import ConfigError, ServerError
from pipeline_lib.gateway.app import create_app
from pipeline_lib.gateway.keys import KeyStore

log = logging.getLogger(__name__)


class GatewayServer:
    def __init__(self, config: AppConfig, *, keys: KeyStore | None = None,
                 log_level: str = "info", access_log: bool = True):
        settings = config.gateway
        self.config = config
        self.keys = keys if keys is not None else KeyStore.load(
            settings.keys_path, env_name=settings.keys_env)
        if settings.mode == "production" and not self.keys.required:
            raise ConfigError(
                "gateway.mode=production refuses to start without API keys: make one with "
                "`pixel gateway-keys create NAME` (or set $" + settings.keys_env + ")")
        self.url = settings.url
        self.log_level = log_level
        self.access_log = access_log
        self.client = None  # the PixelClient while serving
        self._uvicorn: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None

    async def serve(self) -> None:
        settings = self.config.gateway
        async with open_client(self.config, record=settings.record) as client:
            self.client = client
            app = create_app(client=client, settings=settings, keys=self.keys)
            self._uvicorn = uvicorn.Server(uvicorn.Config(
                app, host=settings.host, port=settings.port, log_level=self.log_level,
                access_log=self.access_log, lifespan="off", timeout_graceful_shutdown=10))
            log.info("gateway on %s (keys %s, recording %s)", self.url,
                     f"required: {len(self.keys)}" if self.keys.required else "not required",
                     "on" if settings.record else "off")
            await self._uvicorn.serve()
            if not self._uvicorn.started:
                raise ServerError(f"the gateway could not listen on {self.url} (port taken?)")

    def start_in_thread(self, timeout_s: float = 30.0) -> None:
        """Serve on a thread of its own (its own event loop); returns once it listens."""
        def run() -> None:
            try:
                asyncio.run(self.serve())
            except BaseException as exc:  # noqa: BLE001 -- handed to the starting thread
                self._failure = exc

        self._thread = threading.Thread(target=run, name="pixel-gateway", daemon=True)
        self._thread.start()
        deadline = threading.Event()
        for _ in range(int(timeout_s / 0.05)):
            if self._failure is not None:
                raise self._failure
            if self._uvicorn is not None and self._uvicorn.started:
                return
            deadline.wait(0.05)
        raise ServerError(f"the gateway did not start within {timeout_s:.0f}s")

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop serving; the client closes and the recorder flushes before this returns."""
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
