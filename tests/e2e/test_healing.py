"""A Python stub SIGKILLed (as an out-of-memory kill would): `pixel health` reports it at once,
requests fail as *unavailable* (retryable) while the supervisor reloads the model, and the next
request after healing is answered, without an operator. On the extra `secured_server` (gRPC
mutual TLS), never the shared one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import pytest
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException

from pipeline_lib.client import PixelClient, ServerUnavailableError, load_client_settings
from pipeline_lib.stub_processes import live_stubs

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def wait_for(condition, *, limit_s: float, what: str) -> None:
    """A guard against a hang, not a speed assertion."""
    deadline = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {limit_s:.0f} s")
        time.sleep(0.2)


def client_settings(server, tls, **extra):
    return load_client_settings([
        f"client.grpc_url={server.grpc_url}", f"client.http_url={server.http_url}",
        "client.cache.backend=none", "client.timeout_s=300", "client.tls.enabled=true",
        f"client.tls.ca={tls.ca}", f"client.tls.cert={tls.client_cert}",
        f"client.tls.key={tls.client_key}", *[f"client.{k}={v}" for k, v in extra.items()]])


def raw_infer(server, tls) -> None:
    with grpcclient.InferenceServerClient(
            server.grpc_url, ssl=True, root_certificates=str(tls.ca),
            private_key=str(tls.client_key), certificate_chain=str(tls.client_cert)) as client:
        inputs = []
        for name, value in (("text", b"Still there?"), ("session_id", b"e2e-healing"),
                            ("context_type", b"general_support")):
            tensor = grpcclient.InferInput(name, [1, 1], "BYTES")
            tensor.set_data_from_numpy(np.array([[value]], dtype=np.object_))
            inputs.append(tensor)
        client.infer("pixel", inputs, client_timeout=60)


def pixel_health(server, tls) -> tuple[int, dict]:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "pixel"), "health", "--json", "--url", server.grpc_url,
         "--timeout", "10", "--ca", str(tls.ca), "--client-cert", str(tls.client_cert),
         "--client-key", str(tls.client_key)], capture_output=True, text=True, timeout=120)
    return result.returncode, json.loads(result.stdout)


async def test_a_killed_lm_stub_is_reported_and_healed_without_an_operator(secured_server,
                                                                            tls_files):
    server, supervisor = secured_server
    code, report = pixel_health(server, tls_files)
    assert code == 0 and report["probes"] == {"pixel": None}, report
    stub = next(s for s in live_stubs(server.process.pid).values() if s.model == "pixel_lm")

    os.kill(stub.pid, signal.SIGKILL)
    wait_for(lambda: supervisor.state == "healing", limit_s=30, what="detection of the dead stub")
    # The in-healing checks, quickest first (pixel health is a subprocess): the heal takes
    # seconds, and on a loaded machine a slow check could otherwise outlast it.
    # The status itself is UNAVAILABLE, not INTERNAL: the orchestrator maps the dead dependency.
    with pytest.raises(InferenceServerException) as raw:
        raw_infer(server, tls_files)
    assert raw.value.status() == "StatusCode.UNAVAILABLE", raw.value.message()
    async with PixelClient(client_settings(server, tls_files, **{"retry.max_attempts": 1})) as client:
        with pytest.raises(ServerUnavailableError) as info:
            await client.infer("Are you there?", "e2e-healing")
        assert info.value.retryable
    code, report = pixel_health(server, tls_files)
    assert code == 1 and "pixel_lm is restarting" in report["probes"]["pixel"], report
    assert supervisor.state == "healing", "healed before the in-healing checks ran"

    wait_for(lambda: supervisor.heals == 1, limit_s=240, what="healing")
    assert supervisor.state == "watching"
    assert "pixel_lm_0_0" in live_stubs(server.process.pid)
    async with PixelClient(client_settings(server, tls_files)) as client:
        result = await client.infer("Hello again, are you back?", "e2e-healing")
        assert result.response_text
    code, report = pixel_health(server, tls_files)
    assert code == 0, report
