"""gRPC and HTTP transports over tritonclient's asyncio clients: one connection each, reused.

Both expose the same small surface (infer, liveness, readiness, model index) and leave error
translation to `errors.classify`, so the rest of the client does not know which protocol runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import numpy as np

from pipeline_lib.client.result import OUTPUT_NAMES
from pipeline_lib.errors import ConfigError

PROTOCOLS = ("grpc", "http")

# tritonclient's defaults plus a short reconnect backoff: gRPC's own backoff grows to 120 s
# while a server is down, which would keep a restarted server unreachable for minutes.
_GRPC_MAX_MESSAGE = 2**31 - 1
GRPC_CHANNEL_ARGS = [
    ("grpc.max_send_message_length", _GRPC_MAX_MESSAGE),
    ("grpc.max_receive_message_length", _GRPC_MAX_MESSAGE),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 0),
    ("grpc.http2.max_pings_without_data", 2),
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 1_000),
]


class Transport(Protocol):
    url: str

    async def infer(
        self, *, model_name: str, model_version: str, inputs: Mapping[str, np.ndarray],
        request_id: str, timeout_s: float,
    ) -> dict[str, np.ndarray]: ...

    async def server_live(self, timeout_s: float) -> bool: ...

    async def server_ready(self, timeout_s: float) -> bool: ...

    async def model_ready(self, name: str, version: str, timeout_s: float) -> bool: ...

    async def model_index(self, timeout_s: float) -> list[dict]: ...

    async def close(self) -> None: ...


def _check_url(url: str) -> str:
    if "://" in url:
        raise ConfigError(
            f"server url {url!r} must be host:port without a scheme (e.g. 127.0.0.1:8001)"
        )
    return url


class GrpcTransport:
    def __init__(self, url: str):
        import tritonclient.grpc.aio as grpc_aio

        self.url = _check_url(url)
        self._mod = grpc_aio
        self._client = grpc_aio.InferenceServerClient(url, channel_args=GRPC_CHANNEL_ARGS)

    async def infer(self, *, model_name, model_version, inputs, request_id, timeout_s):
        tensors = []
        for name, array in inputs.items():
            tensor = self._mod.InferInput(name, list(array.shape), "BYTES")
            tensor.set_data_from_numpy(array)
            tensors.append(tensor)
        outputs = [self._mod.InferRequestedOutput(name) for name in OUTPUT_NAMES]
        result = await self._client.infer(
            model_name, tensors, model_version=model_version, outputs=outputs,
            request_id=request_id, client_timeout=timeout_s,
        )
        return {name: result.as_numpy(name) for name in OUTPUT_NAMES}

    async def server_live(self, timeout_s):
        return bool(await self._client.is_server_live(client_timeout=timeout_s))

    async def server_ready(self, timeout_s):
        return bool(await self._client.is_server_ready(client_timeout=timeout_s))

    async def model_ready(self, name, version, timeout_s):
        return bool(await self._client.is_model_ready(name, version, client_timeout=timeout_s))

    async def model_index(self, timeout_s):
        index = await self._client.get_model_repository_index(
            as_json=True, client_timeout=timeout_s
        )
        return list(index.get("models", []))

    async def close(self):
        await self._client.close()


class HttpTransport:
    def __init__(self, url: str):
        import tritonclient.http.aio as http_aio

        self.url = _check_url(url)
        self._mod = http_aio
        # The per-call deadline is applied by the retry loop; this only bounds a stuck socket.
        self._client = http_aio.InferenceServerClient(url, conn_timeout=600.0)

    async def infer(self, *, model_name, model_version, inputs, request_id, timeout_s):
        tensors = []
        for name, array in inputs.items():
            tensor = self._mod.InferInput(name, list(array.shape), "BYTES")
            tensor.set_data_from_numpy(array, binary_data=True)
            tensors.append(tensor)
        outputs = [self._mod.InferRequestedOutput(name, binary_data=True) for name in OUTPUT_NAMES]
        result = await self._client.infer(
            model_name, tensors, model_version=model_version, outputs=outputs,
            request_id=request_id,
        )
        return {name: result.as_numpy(name) for name in OUTPUT_NAMES}

    async def server_live(self, timeout_s):
        return bool(await self._client.is_server_live())

    async def server_ready(self, timeout_s):
        return bool(await self._client.is_server_ready())

    async def model_ready(self, name, version, timeout_s):
        return bool(await self._client.is_model_ready(name, version))

    async def model_index(self, timeout_s):
        return list(await self._client.get_model_repository_index())

    async def close(self):
        await self._client.close()


def make_transport(protocol: str, url: str) -> Transport:
    if protocol == "grpc":
        return GrpcTransport(url)
    if protocol == "http":
        return HttpTransport(url)
    raise ConfigError(f"client.protocol must be one of {PROTOCOLS}, not {protocol!r}")
