"""The server launcher's command line: admin APIs locked on every start (key from the
environment, else random), explicit model control for the supervisor, gRPC TLS flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline_lib.errors import ConfigError
from pipeline_lib.server import ADMIN_KEY_ENV, GrpcTls, TritonServer, admin_key_from_env


def flags(server: TritonServer) -> list[str]:
    return server.command(Path("/opt/tritonserver"))


def test_every_start_locks_the_admin_apis_and_allows_reloads(monkeypatch):
    monkeypatch.setenv(ADMIN_KEY_ENV, "from-the-env-0123456789")
    args = flags(TritonServer(repository=Path("/repo"), models=["pixel"]))
    for flag in ("--grpc-restricted-protocol=", "--http-restricted-api="):
        (value,) = [a for a in args if a.startswith(flag)]
        assert value.endswith(":admin-key=from-the-env-0123456789")
        assert "model-repository" in value and "statistics" in value
    assert "--model-control-mode=explicit" in args and "--load-model=*" in args


def test_without_the_env_each_server_gets_its_own_random_key(monkeypatch):
    monkeypatch.delenv(ADMIN_KEY_ENV, raising=False)
    first = TritonServer(repository=Path("/repo"), models=[]).admin_key
    second = TritonServer(repository=Path("/repo"), models=[]).admin_key
    assert first != second and len(first) >= 16


def test_a_key_that_cannot_travel_in_a_header_is_refused(monkeypatch):
    monkeypatch.setenv(ADMIN_KEY_ENV, "short key")
    with pytest.raises(ConfigError, match=ADMIN_KEY_ENV):
        admin_key_from_env()


def test_grpc_tls_flags_and_mutual_tls(tmp_path):
    for name in ("cert.pem", "key.pem", "ca.pem"):
        (tmp_path / name).write_text("PEM")
    tls = GrpcTls(tmp_path / "cert.pem", tmp_path / "key.pem")
    args = flags(TritonServer(repository=Path("/repo"), models=[], grpc_tls=tls))
    assert "--grpc-use-ssl=true" in args and f"--grpc-server-cert={tmp_path / 'cert.pem'}" in args
    assert not any(a.startswith("--grpc-use-ssl-mutual") for a in args)
    mutual = GrpcTls(tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem")
    assert f"--grpc-root-cert={tmp_path / 'ca.pem'}" in mutual.args()
    assert "--grpc-use-ssl-mutual=true" in mutual.args()


def test_a_missing_tls_file_names_its_option(tmp_path):
    (tmp_path / "cert.pem").write_text("PEM")
    with pytest.raises(ConfigError, match="--tls-key"):
        GrpcTls(tmp_path / "cert.pem", tmp_path / "absent.pem").args()
