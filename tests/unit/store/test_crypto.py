"""Keys, encryption and session HMACs."""

from __future__ import annotations

import stat

import pytest

from pipeline_lib.store.crypto import StoreKeyError, StoreKeys, load_master_key, new_key, write_key_file

REQUEST = "a" * 32


def test_text_round_trips_and_is_not_plain():
    keys = StoreKeys.from_master(b"k" * 32)
    blob = keys.encrypt("I cannot sleep", request_id=REQUEST, column="user_text")
    assert b"sleep" not in blob
    assert keys.decrypt(blob, request_id=REQUEST, column="user_text") == "I cannot sleep"
    assert blob != keys.encrypt("I cannot sleep", request_id=REQUEST, column="user_text")  # fresh nonce


def test_ciphertext_moved_to_another_row_or_key_fails():
    keys = StoreKeys.from_master(b"k" * 32)
    blob = keys.encrypt("text", request_id=REQUEST, column="user_text")
    with pytest.raises(StoreKeyError, match="cannot decrypt"):
        keys.decrypt(blob, request_id="b" * 32, column="user_text")
    with pytest.raises(StoreKeyError, match="cannot decrypt"):
        keys.decrypt(blob, request_id=REQUEST, column="response_text")
    with pytest.raises(StoreKeyError, match="cannot decrypt"):
        StoreKeys.from_master(b"x" * 32).decrypt(blob, request_id=REQUEST, column="user_text")


def test_session_hash_is_keyed_and_stable():
    a, b = StoreKeys.from_master(b"a" * 32), StoreKeys.from_master(b"b" * 32)
    assert a.session_hash("s-1") == a.session_hash("s-1")
    assert a.session_hash("s-1") != a.session_hash("s-2")
    assert a.session_hash("s-1") != b.session_hash("s-1")
    assert "s-1" not in a.session_hash("s-1") and len(a.session_hash("s-1")) == 64


def test_embedded_mode_creates_a_private_key_file_once(tmp_path, settings_for):
    settings = settings_for("sqlite://")
    first = load_master_key(settings)
    assert stat.S_IMODE((tmp_path / "store.key").stat().st_mode) == 0o600
    assert load_master_key(settings) == first


def test_production_mode_refuses_without_a_key_and_says_how(settings_for, tmp_path):
    settings = settings_for("sqlite://", mode="production")
    with pytest.raises(StoreKeyError) as error:
        load_master_key(settings)
    assert "pixel db keygen" in str(error.value) and "PIXEL_TEST_NO_SUCH_KEY" in str(error.value)
    assert not (tmp_path / "store.key").exists()


def test_production_mode_takes_the_key_from_the_environment(settings_for, monkeypatch):
    key = new_key()
    monkeypatch.setenv("PIXEL_TEST_NO_SUCH_KEY", key)
    settings = settings_for("sqlite://", mode="production")
    assert len(load_master_key(settings)) == 32


def test_bad_key_and_no_overwrite(settings_for, tmp_path, monkeypatch):
    monkeypatch.setenv("PIXEL_TEST_NO_SUCH_KEY", "too-short")
    with pytest.raises(StoreKeyError, match="keygen"):
        load_master_key(settings_for("sqlite://"))
    write_key_file(tmp_path / "other.key")
    with pytest.raises(StoreKeyError, match="refusing to overwrite"):
        write_key_file(tmp_path / "other.key")
