"""Each CLI test gets its own state dir (SQLite store, key file) and no database settings from the environment."""

import pytest


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("PIXEL_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("PIXEL_DB_URL", raising=False)
    monkeypatch.delenv("PIXEL_STORE_KEY", raising=False)
    return tmp_path
