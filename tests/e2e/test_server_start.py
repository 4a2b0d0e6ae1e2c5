"""`pixel serve`'s launcher refuses clearly instead of hanging."""

from __future__ import annotations

import socket

import pytest

from pipeline_lib.errors import ServerError
from pipeline_lib.serving_stack import server_from_overrides

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_a_taken_port_is_refused_before_starting(tmp_path, e2e_overrides, free_ports):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        server = server_from_overrides(e2e_overrides, repository=tmp_path / "repo", grpc_port=taken,
                                       http_port=free_ports(), metrics_port=free_ports())
        with pytest.raises(ServerError, match=f"port {taken} \\(grpc\\).*already in use"):
            server.start()
    assert server.process is None


def test_a_model_that_fails_to_load_shows_tritons_reason(tmp_path, e2e_overrides, free_ports):
    server = server_from_overrides(e2e_overrides, repository=tmp_path / "repo", grpc_port=free_ports(),
                                   http_port=free_ports(), metrics_port=free_ports(),
                                   log_file=tmp_path / "server.log", startup_timeout_s=240)
    # Break the tokenizer's artifacts: its initialize() cannot find tokenizer files.
    link = tmp_path / "repo" / "tokenizer" / "1" / "artifacts" / "tokenizer"
    link.unlink()
    link.mkdir()
    with pytest.raises(ServerError) as info:
        server.start()
    message = str(info.value)
    assert "exited" in message and "tokenizer" in message
    assert server.process.poll() is not None  # nothing left running
