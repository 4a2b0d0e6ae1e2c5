"""Server stopped mid-run: calls fail as `unavailable` within their deadline, then the same
clients (gRPC and HTTP) succeed once the server is back. One restart serves both protocols."""

import asyncio
import uuid

import pytest

from pipeline_lib.client import PixelClient, ServerUnavailableError, load_client_settings

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DEADLINE_S = 5.0


def settings_for(server, protocol: str):
    return load_client_settings([
        f"client.protocol={protocol}",
        f"client.grpc_url={server.grpc_url}",
        f"client.http_url={server.http_url}",
        "client.timeout_s=120",
        "client.cache.backend=none",
        "client.retry.max_attempts=100",  # so the deadline, not the budget, ends the retries
    ])


async def test_stop_then_restart_without_a_new_client(triton_server):
    session = f"e2e-{uuid.uuid4().hex}"
    async with PixelClient(settings_for(triton_server, "grpc")) as grpc_client, \
            PixelClient(settings_for(triton_server, "http")) as http_client:
        clients = (grpc_client, http_client)
        for client in clients:  # warm connections that the stop will break
            assert (await client.infer("Hello, I had a rough day.", session)).response_text
        triton_server.stop()
        try:
            for client in clients:
                # The outer bound only turns a hang into a failure; the retry loop stops at the
                # per-call deadline and reports the cause (`unavailable`), not a bare timeout.
                async with asyncio.timeout(DEADLINE_S * 4):
                    with pytest.raises(ServerUnavailableError):
                        await client.infer("Are you there?", session, timeout=DEADLINE_S)
        finally:
            triton_server.start()  # waits until every model is ready
        for client in clients:
            back = await client.infer("Hello again, are you back?", session)
            assert back.response_text and not back.cache_hit
            body = client.metrics.exposition().decode()
            assert 'pixel_client_errors_total{kind="unavailable",variant="control"} 1.0' in body
            assert 'pixel_client_retries_total{kind="unavailable",variant="control"}' in body
