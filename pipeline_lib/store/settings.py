"""Store settings: one frozen dataclass built from the Hydra `store` group (or any mapping).

Nothing here imports Hydra; `from_mapping` takes the composed `cfg.store` node or a plain dict.
`PIXEL_DB_URL` in the environment overrides the URL so deployments need not edit configs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from pipeline_lib.checkpoints import state_dir
from pipeline_lib.errors import ConfigError

MODES = ("embedded", "production")
TEXT_POLICIES = ("encrypted", "drop")
DURABILITY = ("fsync", "os")
AT_CAP = ("fail_closed", "drop_newest")
URL_ENV = "PIXEL_DB_URL"


@dataclass(frozen=True)
class AlertThresholds:
    bias_max: float = 0.5  # bias_score above this raises a bias incident
    latency_slo_ms: float = 2000.0  # client latency above this raises a performance alert


@dataclass(frozen=True)
class PrivacySettings:
    text: str = "encrypted"  # "encrypted": AES-GCM at rest; "drop": text is never stored
    key_env: str = "PIXEL_STORE_KEY"  # environment variable holding the base64 key
    key_file: Path | None = None  # None: <state_dir>/store.key


@dataclass(frozen=True)
class SpoolSettings:
    dir: Path | None = None  # None: <state_dir>/spool
    durability: str = "fsync"  # "fsync": survives power loss; "os": survives a process crash only
    batch_size: int = 500  # outcomes per database transaction
    flush_interval_s: float = 0.2  # how often the writer drains the spool
    max_backoff_s: float = 5.0  # retry interval ceiling while the database is down
    # Disk cap of the spool (what a database outage can pile up), and what happens at it:
    # fail_closed refuses new calls (unavailable, retryable) until it drains; drop_newest keeps
    # serving and drops the newest outcomes, each one logged and counted.
    max_bytes: int = 1 << 30
    near_cap_fraction: float = 0.8  # above this the near-cap metric/alert fires
    at_cap: str = "fail_closed"


@dataclass(frozen=True)
class StoreSettings:
    url: str | None = None  # None: sqlite+aiosqlite:///<state_dir>/pixel.db
    mode: str = "embedded"  # "production" refuses to start without a key
    ab_test: str = "pixel-ab"  # name of the running A/B test in ab_tests
    connect_timeout_s: float = 3.0
    spool: SpoolSettings = field(default_factory=SpoolSettings)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    thresholds: AlertThresholds = field(default_factory=AlertThresholds)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"store.mode: {self.mode!r} is not one of {MODES}")
        if self.privacy.text not in TEXT_POLICIES:
            raise ConfigError(f"store.privacy.text: {self.privacy.text!r} is not one of {TEXT_POLICIES}")
        if self.spool.durability not in DURABILITY:
            raise ConfigError(
                f"store.spool.durability: {self.spool.durability!r} is not one of {DURABILITY}"
            )
        if self.spool.batch_size < 1:
            raise ConfigError("store.spool.batch_size: must be >= 1")
        if self.spool.at_cap not in AT_CAP:
            raise ConfigError(f"store.spool.at_cap: {self.spool.at_cap!r} is not one of {AT_CAP}")
        if self.spool.max_bytes < 1 or not 0 < self.spool.near_cap_fraction <= 1:
            raise ConfigError("store.spool.max_bytes must be >= 1 and store.spool.near_cap_fraction "
                              "in (0, 1]")

    @property
    def database_url(self) -> str:
        url = os.environ.get(URL_ENV) or self.url
        if url:
            return url
        return f"sqlite+aiosqlite:///{state_dir() / 'pixel.db'}"

    @property
    def spool_dir(self) -> Path:
        return Path(self.spool.dir) if self.spool.dir else state_dir() / "spool"

    @property
    def key_file(self) -> Path:
        return Path(self.privacy.key_file) if self.privacy.key_file else state_dir() / "store.key"

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> StoreSettings:
        """Build from a Hydra `cfg.store` node or a dict; unknown keys are an error, not ignored."""
        data = _plain(data or {})
        nested = {"spool": SpoolSettings, "privacy": PrivacySettings, "thresholds": AlertThresholds}
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key in nested:
                kwargs[key] = _build(nested[key], value or {}, f"store.{key}")
            else:
                kwargs[key] = value
        return _build(cls, kwargs, "store")

    @classmethod
    def coerce(cls, settings: StoreSettings | Mapping[str, Any] | None) -> StoreSettings:
        return settings if isinstance(settings, StoreSettings) else cls.from_mapping(settings)

    def with_url(self, url: str | None) -> StoreSettings:
        return self if url is None else replace(self, url=url)


def _plain(data: Any) -> dict[str, Any]:
    # OmegaConf nodes behave as mappings; turning them into dicts keeps Hydra out of this module.
    return {str(k): (_plain(v) if isinstance(v, Mapping) else v) for k, v in dict(data).items()}


def _build(kind: type, values: Mapping[str, Any], where: str):
    known = {f.name for f in fields(kind)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown keys {unknown}; known keys are {sorted(known)}")
    if kind is SpoolSettings and values.get("dir") is not None:
        values = {**values, "dir": Path(values["dir"])}
    if kind is PrivacySettings and values.get("key_file") is not None:
        values = {**values, "key_file": Path(values["key_file"])}
    return kind(**values)
