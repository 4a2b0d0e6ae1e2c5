"""One real tritonserver for the whole e2e session (development profile, default LM export)."""

from __future__ import annotations

import os
import secrets
import socket
import threading

import pytest

from pipeline_lib.server import ADMIN_KEY_ENV, GrpcTls
from pipeline_lib.serving_stack import server_from_overrides
from pipeline_lib.supervisor import HealingPolicy, Supervisor
from tests.e2e.certificates import make_tls_files

# The default config (the engine) with small batches and replies of at most 48 tokens (the demo's
# 256 would make every call of the suite several times slower on two cores).
E2E_OVERRIDES = ["profile=development", "lm.max_new_tokens=48"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def triton_server(tmp_path_factory):
    """A started TritonServer: .grpc_url, .http_url, .metrics_url, .stop(), .start().
    Its admin key is also put in TRITON_ADMIN_KEY, so tools run as subprocesses (the benchmark
    harness reads Triton's statistics) can open the locked admin APIs."""
    os.environ.setdefault(ADMIN_KEY_ENV, secrets.token_urlsafe(24))
    server = server_from_overrides(
        E2E_OVERRIDES,
        repository=tmp_path_factory.mktemp("repository"),
        http_port=free_port(), grpc_port=free_port(), metrics_port=free_port(),
        log_file=tmp_path_factory.mktemp("logs") / "tritonserver.log",
        # After the suite's streams, the engine (`pixel_lm`) and `pixel_stream` do not finish
        # unloading on 2.51 and the stop waits out the whole exit timeout (30 s by default), once
        # in the restart test and once at the end; nothing is in flight by then.
        exit_timeout_s=5,
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


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory):
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def secured_server(tmp_path_factory, tls_files):
    """The one extra server: gRPC with mutual TLS, under the healing supervisor (the healing test
    kills its stubs; the shared `triton_server` is never touched). Yields (server, supervisor)."""
    server = server_from_overrides(
        E2E_OVERRIDES, repository=tmp_path_factory.mktemp("secured-repository"),
        http_port=free_port(), grpc_port=free_port(), metrics_port=free_port(),
        log_file=tmp_path_factory.mktemp("secured-logs") / "tritonserver.log",
        grpc_tls=GrpcTls(tls_files.server_cert, tls_files.server_key, tls_files.ca),
        # A reloaded model's old instance (its stub dead) never finishes unloading on 2.51, so
        # a healed server's stop waits this long: keep it short here.
        exit_timeout_s=3)
    server.start()
    stop = threading.Event()
    supervisor = Supervisor(server, admin_key=server.admin_key,
                            policy=HealingPolicy(poll_interval_s=0.5, probe_interval_s=0))
    thread = supervisor.run_in_background(stop)
    yield server, supervisor
    stop.set()
    thread.join(timeout=60)
    server.stop()
