"""Gateway settings: a typed view of the Hydra group `configs/gateway/` (nothing here imports Hydra)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline_lib.checkpoints import state_dir
from pipeline_lib.errors import ConfigError

MODES = ("embedded", "production")


@dataclass(frozen=True)
class RateLimit:
    requests_per_minute: float = 120.0
    burst: int = 20

    def __post_init__(self) -> None:
        if self.requests_per_minute <= 0 or self.burst < 1:
            raise ConfigError("gateway.rate_limit: requests_per_minute must be > 0 and burst >= 1")


@dataclass(frozen=True)
class GatewaySettings:
    host: str = "127.0.0.1"
    port: int = 8080
    mode: str = "embedded"
    keys_file: Path | None = None  # None: <state_dir>/gateway_keys.json
    keys_env: str = "PIXEL_GATEWAY_KEYS"
    rate_limit: RateLimit = field(default_factory=RateLimit)
    max_body_bytes: int = 262_144
    session_header: str = "X-Pixel-Conversation-Id"
    record: bool = True
    console: bool = True
    # uvicorn's access log: a formatted line per request costs gateway CPU that, on cores shared
    # with tritonserver, shows as latency; /metrics counts requests anyway.
    access_log: bool = False
    crisis_pointer: str = ""  # the deployment's crisis-line pointer (configs/scoring)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"gateway.mode: {self.mode!r} is not one of {MODES}")
        if self.max_body_bytes < 1024:
            raise ConfigError("gateway.max_body_bytes: must be at least 1024")

    @property
    def keys_path(self) -> Path:
        return Path(self.keys_file) if self.keys_file else state_dir() / "gateway_keys.json"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, crisis_pointer: str = "") -> GatewaySettings:
        """Build from the composed `gateway` node (a plain dict)."""
        data = dict(data)
        keys, limit = dict(data.pop("keys", {}) or {}), dict(data.pop("rate_limit", {}) or {})
        try:
            return cls(
                **data,
                keys_file=Path(keys["file"]) if keys.get("file") else None,
                keys_env=str(keys.get("env", cls.keys_env)),
                rate_limit=RateLimit(**limit),
                crisis_pointer=crisis_pointer,
            )
        except TypeError as exc:
            raise ConfigError(f"gateway config has an unknown or misspelt key: {exc}") from exc
