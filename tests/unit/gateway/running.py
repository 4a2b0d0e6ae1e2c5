"""A real gateway (uvicorn on a free port, on a thread of its own) with its own SQLite store."""

from __future__ import annotations

import contextlib
import socket
from pathlib import Path

from pipeline_lib.composition import load_app_config
from pipeline_lib.gateway.keys import KeyStore
from pipeline_lib.gateway.server import GatewayServer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def store_overrides(folder: Path) -> list[str]:
    """An embedded SQLite store of the test's own (it migrates itself at start)."""
    return [f"store.url=sqlite+aiosqlite:///{folder / 'pixel.db'}",
            f"store.spool.dir={folder / 'spool'}", "store.spool.flush_interval_s=0.05",
            f"store.privacy.key_file={folder / 'store.key'}",
            "store.privacy.key_env=PIXEL_GATEWAY_TEST_NO_SUCH_KEY"]


@contextlib.contextmanager
def running_gateway(folder: Path, *, triton_grpc_url: str, overrides=(),
                    keys: KeyStore | None = None):
    """Yields the started GatewayServer (`.url`); stops it (client closed, recorder flushed)."""
    config = load_app_config([
        f"client.grpc_url={triton_grpc_url}", "client.cache.backend=none",
        f"gateway.port={free_port()}", f"gateway.keys.file={folder / 'no_keys.json'}",
        *store_overrides(folder), *overrides,
    ])
    server = GatewayServer(config, keys=keys if keys is not None else KeyStore(),
                           log_level="warning")
    server.start_in_thread()
    try:
        yield server
    finally:
        server.stop()
