"""The composition root: one Hydra config for client, store and gateway; open_client builds the
client with its cache and a started recorder; importing the client composes nothing."""

import subprocess
import sys

from pipeline_lib.client.cache import MemoryCache
from pipeline_lib.composition import load_app_config, open_client
from pipeline_lib.store.recorder import Recorder


def test_one_config_for_client_store_gateway_and_the_crisis_pointer():
    config = load_app_config(["client=ab_two_variants", "store=postgres", "gateway.port=9123",
                              "client.timeout_s=7"])
    assert [v.model_name for v in config.client.variants] == ["pixel", "pixel_concise"]
    assert config.client.timeout_s == 7 and config.gateway.port == 9123
    assert config.store.mode == "production" and "postgresql" in config.store.url
    assert "crisis line" in config.gateway.crisis_pointer


async def test_open_client_builds_cache_and_a_started_recorder(tmp_path):
    config = load_app_config([
        f"store.url=sqlite+aiosqlite:///{tmp_path / 'pixel.db'}", f"store.spool.dir={tmp_path}/spool",
        f"store.privacy.key_file={tmp_path / 'store.key'}", "client.cache.backend=memory"])
    async with open_client(config) as client:
        assert isinstance(client.cache, MemoryCache) and isinstance(client.recorder, Recorder)
        assert client.recorder._writer is not None  # started: spool open, writer running
    assert (tmp_path / "pixel.db").exists()
    async with open_client(config.with_client(timeout_s=3.0), record=False) as client:
        assert client.recorder is None and client.settings.timeout_s == 3.0


def test_importing_the_client_composes_no_hydra():
    code = "import sys, pipeline_lib.client; assert 'hydra' not in sys.modules, 'hydra imported'"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
