import json
import stat

import pytest

from pipeline_lib.errors import ConfigError, InvalidInputError
from pipeline_lib.gateway.errors import GatewayError
from pipeline_lib.gateway.keys import KeyStore, create_key, key_hash, read_file, revoke_key


def test_created_keys_are_stored_hashed_and_authenticate(tmp_path):
    path = tmp_path / "keys.json"
    key = create_key(path, "support-app", requests_per_minute=30)
    assert key.startswith("pxk-") and len(key) > 40
    assert key not in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    store = KeyStore.load(path, env={})
    entry = store.authenticate(f"Bearer {key}")
    assert entry.name == "support-app" and entry.requests_per_minute == 30


@pytest.mark.parametrize("header,code", [
    (None, "missing_api_key"), ("Basic abc", "missing_api_key"), ("Bearer ", "missing_api_key"),
    ("Bearer pxk-wrong", "invalid_api_key"),
])
def test_a_missing_or_wrong_key_is_a_401(tmp_path, header, code):
    path = tmp_path / "keys.json"
    create_key(path, "app")
    with pytest.raises(GatewayError) as caught:
        KeyStore.load(path, env={}).authenticate(header)
    assert caught.value.status == 401 and caught.value.code == code
    assert caught.value.type == "authentication_error"


def test_without_keys_none_is_required(tmp_path):
    store = KeyStore.load(tmp_path / "none.json", env={})
    assert not store.required and store.authenticate(None) is None


def test_keys_from_the_environment(tmp_path):
    env = {"PIXEL_GATEWAY_KEYS": f"ci:{key_hash('pxk-secret')}"}
    store = KeyStore.load(tmp_path / "none.json", env=env)
    assert store.authenticate("Bearer pxk-secret").name == "ci"
    with pytest.raises(ConfigError, match="PIXEL_GATEWAY_KEYS"):
        KeyStore.load(tmp_path / "none.json", env={"PIXEL_GATEWAY_KEYS": "ci:not-a-hash"})


def test_revoke_and_duplicate_names(tmp_path):
    path = tmp_path / "keys.json"
    key = create_key(path, "a")
    create_key(path, "b")
    with pytest.raises(InvalidInputError, match="name"):
        create_key(path, "a")
    assert revoke_key(path, "a") and not revoke_key(path, "a")
    assert [e.name for e in read_file(path)] == ["b"]
    with pytest.raises(GatewayError):
        KeyStore.load(path, env={}).authenticate(f"Bearer {key}")


def test_a_corrupt_file_says_how_to_fix_it(tmp_path):
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"keys": [{"name": "a", "sha256": "short"}]}))
    with pytest.raises(ConfigError, match="gateway-keys create"):
        KeyStore.load(path, env={})
