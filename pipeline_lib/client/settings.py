"""Client settings: a typed view of the Hydra group `configs/client/`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from omegaconf import DictConfig, OmegaConf

from pipeline_lib.client.ab import Variant, VariantRouter
from pipeline_lib.client.retry import RetryPolicy
from pipeline_lib.client.transport import PROTOCOLS, TlsSettings
from pipeline_lib.errors import ConfigError

CACHE_BACKENDS = ("redis", "memory", "none")


@dataclass(frozen=True)
class CacheSettings:
    backend: str = "memory"
    redis_url: str = "redis://127.0.0.1:6379/0"
    ttl_s: float = 3600.0
    max_entries: int = 1024
    prefix: str = "pixel:result:"
    retry_after_s: float = 30.0
    key: str = "pixel-cache-v1"


@dataclass(frozen=True)
class ClientSettings:
    protocol: str = "grpc"
    grpc_url: str = "127.0.0.1:8001"
    http_url: str = "127.0.0.1:8000"
    timeout_s: float = 30.0
    health_timeout_s: float = 5.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    batch_concurrency: int = 8
    batch_max_pending: int = 32
    cache: CacheSettings = field(default_factory=CacheSettings)
    tls: TlsSettings = field(default_factory=TlsSettings)
    metrics_enabled: bool = False
    metrics_port: int = 9108
    metrics_addr: str = "127.0.0.1"
    ab_hash_key: str = "pixel-ab-v1"
    variants: tuple[Variant, ...] = (Variant("control", "pixel", "", 1.0),)

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ConfigError(f"client.protocol must be one of {PROTOCOLS}, not {self.protocol!r}")
        if self.cache.backend not in CACHE_BACKENDS:
            raise ConfigError(
                f"client.cache.backend must be one of {CACHE_BACKENDS}, not {self.cache.backend!r}"
            )
        if self.timeout_s <= 0:
            raise ConfigError("client.timeout_s must be > 0 seconds")
        if self.batch_concurrency < 1 or self.batch_max_pending < 1:
            raise ConfigError("client.batch.concurrency and client.batch.max_pending must be >= 1")

    @property
    def url(self) -> str:
        """The server address for the chosen protocol."""
        return self.grpc_url if self.protocol == "grpc" else self.http_url

    def router(self) -> VariantRouter:
        return VariantRouter(self.variants, hash_key=self.ab_hash_key)

    @classmethod
    def from_config(cls, cfg: DictConfig | Mapping[str, Any]) -> ClientSettings:
        """Build from the `client` node (or a whole config holding one)."""
        if isinstance(cfg, DictConfig):
            data = OmegaConf.to_container(cfg, resolve=True)
        else:
            data = dict(cfg)
        if "client" in data and isinstance(data["client"], Mapping):
            data = dict(data["client"])
        try:
            retry, batch = data.get("retry", {}), data.get("batch", {})
            metrics, ab = data.get("metrics", {}), data.get("ab", {})
            return cls(
                protocol=str(data.get("protocol", "grpc")),
                grpc_url=str(data.get("grpc_url", cls.grpc_url)),
                http_url=str(data.get("http_url", cls.http_url)),
                timeout_s=float(data.get("timeout_s", cls.timeout_s)),
                health_timeout_s=float(data.get("health_timeout_s", cls.health_timeout_s)),
                retry=RetryPolicy(**retry),
                batch_concurrency=int(batch.get("concurrency", cls.batch_concurrency)),
                batch_max_pending=int(batch.get("max_pending", cls.batch_max_pending)),
                cache=CacheSettings(**data.get("cache", {})),
                tls=TlsSettings(**(data.get("tls") or {})),
                metrics_enabled=bool(metrics.get("enabled", False)),
                metrics_port=int(metrics.get("port", cls.metrics_port)),
                metrics_addr=str(metrics.get("addr", cls.metrics_addr)),
                ab_hash_key=str(ab.get("hash_key", cls.ab_hash_key)),
                variants=tuple(Variant.from_mapping(v) for v in ab.get("variants", []))
                or cls.variants,
            )
        except TypeError as exc:  # an unknown key in retry/cache/tls
            raise ConfigError(f"client config has an unknown or misspelt key: {exc}") from exc


def load_client_settings(
    overrides: Sequence[str] = (), *, config_name: str = "client/default"
) -> ClientSettings:
    """Compose `configs/<config_name>.yaml` with Hydra overrides such as 'protocol=http'."""
    from pipeline_lib.config.compose import compose_config

    return ClientSettings.from_config(compose_config(overrides, config_name=config_name))
