"""GatewayServer: the client, its recorder and the app under uvicorn, in one event loop.

    run_loop(GatewayServer(load_app_config()).serve())        # `pixel gateway`
    server = GatewayServer(config); server.start_in_thread()  # tests, benchmarks, the demo
    ...; server.stop()

Production mode refuses to start without API keys. The event loop is uvloop's and uvicorn parses
HTTP with httptools where they are installed (the `gateway` extra): the gateway shares its cores
with tritonserver, so its CPU per request shows as latency under load.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from typing import Any

import uvicorn

from pipeline_lib.composition import AppConfig, open_client
from pipeline_lib.errors import ConfigError, ServerError
from pipeline_lib.gateway.app import create_app
from pipeline_lib.gateway.keys import KeyStore

log = logging.getLogger(__name__)


class QuietServer(uvicorn.Server):
    """uvicorn's Server, waking once a second instead of ten times when idle.

    uvicorn's main loop sleeps 0.1 s between ticks (refresh the Date header each 10th, see
    whether to exit). Measured here, that costs the gateway ~2 ms of CPU per second doing
    nothing: at concurrency 8 on two shared cores the gateway serves ~2 requests/s, so the ticks
    were ~0.75 ms of every request's CPU. One tick a second keeps the Date header as fresh (each
    tick refreshes it); an exit request wakes the loop at once, so stopping is no slower.
    """

    TICK_S = 1.0

    async def main_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 10) % 864000  # a multiple of 10: on_tick refreshes the Date
            try:
                await asyncio.wait_for(self._wake.wait(), self.TICK_S)
            except TimeoutError:
                pass
            should_exit = await self.on_tick(counter)

    def request_exit(self) -> None:
        """Stop serving; callable from any thread and from a signal handler."""
        self.should_exit = True
        loop, wake = getattr(self, "_loop", None), getattr(self, "_wake", None)
        if loop is not None and wake is not None:
            try:
                loop.call_soon_threadsafe(wake.set)
            except RuntimeError:  # the loop is closed: nothing left to wake
                pass

    def handle_exit(self, sig, frame) -> None:  # SIGINT / SIGTERM
        super().handle_exit(sig, frame)
        self.request_exit()


def run_loop(main: Coroutine[Any, Any, None]) -> None:
    """asyncio.run on uvloop's event loop when it is installed (less CPU per callback and
    socket event than the pure-Python selector loop; grpc.aio runs on it), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


class GatewayServer:
    def __init__(self, config: AppConfig, *, keys: KeyStore | None = None,
                 log_level: str = "info", access_log: bool | None = None):
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
        self.access_log = settings.access_log if access_log is None else access_log
        self.client = None  # the PixelClient while serving
        self._uvicorn: QuietServer | None = None
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None

    async def serve(self) -> None:
        settings = self.config.gateway
        async with open_client(self.config, record=settings.record) as client:
            self.client = client
            app = create_app(client=client, settings=settings, keys=self.keys)
            self._uvicorn = QuietServer(uvicorn.Config(
                app, host=settings.host, port=settings.port, log_level=self.log_level,
                access_log=self.access_log, lifespan="off", timeout_graceful_shutdown=10,
                http="auto"))  # httptools when installed (C parser), else h11
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
                run_loop(self.serve())
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
            self._uvicorn.request_exit()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
