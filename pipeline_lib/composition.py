"""The composition root of the application side: what talks to Pixel, built from one Hydra config.

`configs/application.yaml` holds the client (routing, retries, cache), the outcome store, the
gateway and the deployment's crisis pointer. `pixel gateway`, `pixel ask`, `pixel demo` and the
benchmarks all build their client, cache and recorder here, so they behave alike:

    config = load_app_config(["client.grpc_url=127.0.0.1:9001", "store=postgres"])
    async with open_client(config) as client:          # records every call unless record=False
        result = await client.infer("I can't sleep", "s-1")

Importing the client never composes Hydra; only `load_app_config` does.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace

from omegaconf import OmegaConf

from pipeline_lib.client import PixelClient
from pipeline_lib.client.cache import build_cache
from pipeline_lib.client.settings import ClientSettings
from pipeline_lib.gateway.settings import GatewaySettings
from pipeline_lib.store.settings import StoreSettings

CONFIG_NAME = "application"


@dataclass(frozen=True)
class AppConfig:
    client: ClientSettings
    store: StoreSettings
    gateway: GatewaySettings

    def with_client(self, **changes) -> AppConfig:
        """A copy with client settings changed, e.g. with_client(grpc_url=..., timeout_s=...)."""
        return replace(self, client=replace(self.client, **changes))


def load_app_config(overrides: Sequence[str] = ()) -> AppConfig:
    """Compose configs/application.yaml with overrides such as `client=ab_two_variants`,
    `store=postgres`, `client.timeout_s=60`, `gateway.port=9000`."""
    from pipeline_lib.config.compose import compose_config

    cfg = OmegaConf.to_container(compose_config(overrides, config_name=CONFIG_NAME), resolve=True)
    return AppConfig(
        client=ClientSettings.from_config(cfg["client"]),
        store=StoreSettings.from_mapping(cfg["store"]),
        gateway=GatewaySettings.from_mapping(cfg["gateway"],
                                             crisis_pointer=cfg["scoring"]["crisis_pointer"]),
    )


@contextlib.asynccontextmanager
async def open_client(config: AppConfig, *, record: bool = True) -> AsyncIterator[PixelClient]:
    """A PixelClient with its cache and, when `record`, a started Recorder of the configured
    store (every call recorded exactly once; the spool keeps what the database cannot take now).
    Closing it closes the client, then flushes and closes the recorder."""
    async with contextlib.AsyncExitStack() as stack:
        recorder = None
        if record:
            from pipeline_lib.store.recorder import Recorder

            recorder = await stack.enter_async_context(Recorder.from_settings(config.store))
        client = PixelClient(config.client, cache=build_cache(config.client.cache),
                             recorder=recorder)
        await stack.enter_async_context(client)
        yield client
