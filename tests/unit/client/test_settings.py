"""The Hydra group configs/client composes into ClientSettings."""

import pytest

from pipeline_lib.client.settings import ClientSettings, load_client_settings
from pipeline_lib.config.compose import compose_config
from pipeline_lib.errors import ConfigError


def test_default_group_composes():
    s = load_client_settings()
    assert s.protocol == "grpc" and s.url == s.grpc_url
    assert [v.name for v in s.variants] == ["control"]
    assert s.variants[0].model_name == "pixel" and s.variants[0].model_version == ""
    assert s.retry.max_attempts >= 2 and s.cache.backend in ("redis", "memory", "none")


def test_overrides_and_two_variant_file():
    s = load_client_settings(["client.protocol=http", "client.retry.max_attempts=2"],
                             config_name="client/ab_two_variants")
    assert s.protocol == "http" and s.url == s.http_url and s.retry.max_attempts == 2
    assert s.router().shares == {"control": 0.5, "concise": 0.5}


def test_group_mounts_into_the_entry_config():
    cfg = compose_config(["+client=default", "client.cache.backend=redis"])
    assert ClientSettings.from_config(cfg).cache.backend == "redis"


def test_bad_values_fail_with_the_key_named():
    with pytest.raises(ConfigError, match="client.protocol"):
        load_client_settings(["client.protocol=carrier-pigeon"])
    with pytest.raises(ConfigError, match="unknown or misspelt"):
        ClientSettings.from_config({"retry": {"max_attemps": 3}})
