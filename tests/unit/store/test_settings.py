"""Store settings from the Hydra group, mappings and the environment."""

from __future__ import annotations

import pytest

from pipeline_lib.errors import ConfigError
from pipeline_lib.store.settings import StoreSettings
from pipeline_lib.store.settings_loading import load_store_settings


def test_default_config_is_embedded_sqlite_under_the_state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("PIXEL_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("PIXEL_DB_URL", raising=False)
    settings = load_store_settings()
    assert settings.mode == "embedded"
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'pixel.db'}"
    assert settings.spool_dir == tmp_path / "spool" and settings.key_file == tmp_path / "store.key"


def test_postgres_config_is_production_and_overrides_apply(monkeypatch):
    monkeypatch.delenv("PIXEL_DB_URL", raising=False)
    settings = load_store_settings("postgres", ["thresholds.bias_max=0.3", "spool.batch_size=50"])
    assert settings.mode == "production" and settings.database_url.startswith("postgresql+asyncpg")
    assert settings.thresholds.bias_max == 0.3 and settings.spool.batch_size == 50


def test_environment_url_wins(monkeypatch):
    monkeypatch.setenv("PIXEL_DB_URL", "postgresql://elsewhere/db")
    assert StoreSettings(url="sqlite://").database_url == "postgresql://elsewhere/db"


def test_unknown_and_invalid_values_are_refused():
    with pytest.raises(ConfigError, match="unknown keys"):
        StoreSettings.from_mapping({"spool": {"batchsize": 3}})
    with pytest.raises(ConfigError, match="store.mode"):
        StoreSettings.from_mapping({"mode": "prod"})
    with pytest.raises(ConfigError, match="privacy.text"):
        StoreSettings.from_mapping({"privacy": {"text": "plain"}})
