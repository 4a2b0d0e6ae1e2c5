"""`pixel serve`'s gRPC TLS (mutual, with a CA made at test time) and its locked admin APIs, on the
extra `secured_server`: a client holding the CA (and its certificate) is answered; a client that
does not trust the CA, speaks plain gRPC or has no client certificate fails the handshake; the
admin APIs answer only with the key."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException

from pipeline_lib.client import PixelClient, load_client_settings

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def grpc_live(url: str, **tls) -> bool:
    with grpcclient.InferenceServerClient(url, **tls) as client:
        return client.is_server_live(client_timeout=10)


def http_status(url: str, key: str | None = None, method: str = "GET") -> int:
    request = urllib.request.Request(url, method=method, data=b"{}" if method == "POST" else None)
    if key:
        request.add_header("admin-key", key)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


async def test_a_client_with_the_ca_and_its_certificate_is_answered(secured_server, tls_files):
    server, _ = secured_server
    settings = load_client_settings([
        f"client.grpc_url={server.grpc_url}", "client.cache.backend=none", "client.timeout_s=300",
        "client.tls.enabled=true",
        f"client.tls.ca={tls_files.ca}", f"client.tls.cert={tls_files.client_cert}",
        f"client.tls.key={tls_files.client_key}"])
    async with PixelClient(settings) as client:
        assert (await client.infer("Hello over TLS.", "e2e-tls")).response_text


@pytest.mark.parametrize("case", ["plain gRPC", "untrusted CA", "no client certificate"])
def test_the_handshake_fails_without_the_right_credentials(secured_server, tls_files, case):
    server, _ = secured_server
    tls = {"plain gRPC": {},
           "untrusted CA": dict(ssl=True, root_certificates=str(tls_files.other_ca),
                                private_key=str(tls_files.client_key),
                                certificate_chain=str(tls_files.client_cert)),
           "no client certificate": dict(ssl=True, root_certificates=str(tls_files.ca))}[case]
    with pytest.raises(InferenceServerException) as info:
        grpc_live(server.grpc_url, **tls)
    assert "UNAVAILABLE" in str(info.value.status())


def test_admin_apis_need_the_key_on_pixel_serve(secured_server, tls_files):
    server, _ = secured_server
    base = f"http://{server.http_url}"
    assert http_status(f"{base}/v2/models/stats") == 403
    assert http_status(f"{base}/v2/repository/index", method="POST") == 403
    assert http_status(f"{base}/v2/repository/models/tokenizer/unload", method="POST") == 403
    assert http_status(f"{base}/v2/models/stats", key=server.admin_key) == 200
    assert http_status(f"{base}/v2/models/pixel/ready") == 200  # inference side stays open
    with grpcclient.InferenceServerClient(
            server.grpc_url, ssl=True, root_certificates=str(tls_files.ca),
            private_key=str(tls_files.client_key),
            certificate_chain=str(tls_files.client_cert)) as client:
        with pytest.raises(InferenceServerException) as info:
            client.get_model_repository_index()
        assert "restricted" in info.value.message()
        # Triton prefixes the gRPC metadata key: triton-grpc-protocol-<key>.
        headers = {"triton-grpc-protocol-admin-key": server.admin_key}
        assert client.get_model_repository_index(headers=headers).models
