"""One real tritonserver for the whole e2e session (development profile, default LM export)."""

from __future__ import annotations

import socket

import pytest

from pipeline_lib.serving_stack import server_from_overrides

# The default config (the engine) with small batches and replies of at most 48 tokens (the demo's
# 256 would make every call of the suite several times slower on two cores).
E2E_OVERRIDES = ["profile=development", "lm.max_new_tokens=48"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def triton_server(tmp_path_factory):
    """A started TritonServer: .grpc_url, .http_url, .metrics_url, .stop(), .start()."""
    server = server_from_overrides(
        E2E_OVERRIDES,
        repository=tmp_path_factory.mktemp("repository"),
        http_port=free_port(), grpc_port=free_port(), metrics_port=free_port(),
        log_file=tmp_path_factory.mktemp("logs") / "tritonserver.log",
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def free_ports():
    """Call it for a free localhost port."""
    return free_port


@pytest.fixture(scope="session")
def e2e_overrides() -> list[str]:
    return list(E2E_OVERRIDES)
