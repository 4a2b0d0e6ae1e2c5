"""gRPC and HTTP transports over tritonclient's asyncio clients: one connection each, reused.

Both expose the same small surface (infer, liveness, readiness, model index) and leave error
translation to `errors.classify`, so the rest of the client does not know which protocol runs.
gRPC adds `open_stream` (bidirectional streaming; HTTP has none).

Calls ask for no particular outputs, so the server returns all it has: the engine's models add
reply_persona / crisis_reply_mode / finish_reason, the run-to-completion ensemble does not, and the
same client works with both (no metadata round trip, nothing stale when the server changes).
The deadline travels as Triton's request `timeout` (microseconds), so the server can drop work
nobody waits for; the gRPC deadline (`client_timeout`) still bounds the call on our side.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from pipeline_lib.client.errors import InferenceFailedError, classify_stream_error
from pipeline_lib.client.result import OPTIONAL_NAMES, OUTPUT_NAMES
from pipeline_lib.contract import STREAM_OUTPUTS
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

    async def model_index(self, timeout_s: float, headers: dict | None = None) -> list[dict]: ...

    async def close(self) -> None: ...


class StreamCall(Protocol):
    """One bidirectional streaming request: its responses, then cancel() or done_writing()."""

    async def receive(self) -> dict[str, np.ndarray]: ...  # raises a ClientError on a stream error

    def done_writing(self) -> None: ...  # the final response arrived: end the request stream

    def cancel(self) -> None: ...  # stop the call; the server sees the cancellation


# What a streamed response may carry: the unary outputs plus the event and its text.
STREAM_NAMES = tuple(t.name for t in STREAM_OUTPUTS)


def _present(result, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The named outputs the response holds (as_numpy gives None for one it lacks)."""
    return {name: array for name in names if (array := result.as_numpy(name)) is not None}


def triton_timeout_us(timeout_s: float) -> int:
    """Triton's request timeout: whole microseconds, at least 1 (0 would mean none)."""
    return max(1, int(timeout_s * 1_000_000))


def _check_url(url: str) -> str:
    if "://" in url:
        raise ConfigError(
            f"server url {url!r} must be host:port without a scheme (e.g. 127.0.0.1:8001)"
        )
    return url


@dataclass(frozen=True)
class TlsSettings:
    """TLS towards the server: `ca` verifies its certificate (None: the system's CAs); `cert` and
    `key` are this client's own certificate for mutual TLS."""

    enabled: bool = False
    ca: str | None = None
    cert: str | None = None
    key: str | None = None

    def __post_init__(self) -> None:
        for name in ("ca", "cert", "key"):
            path = getattr(self, name)
            if self.enabled and path and not Path(path).is_file():
                raise ConfigError(f"client.tls.{name}: file {path} not found")
        if self.enabled and bool(self.cert) != bool(self.key):
            raise ConfigError("client.tls.cert and client.tls.key go together (mutual TLS)")

    def ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.ca)
        if self.cert:
            context.load_cert_chain(self.cert, self.key)
        return context


class GrpcTransport:
    def __init__(self, url: str, tls: TlsSettings | None = None):
        import tritonclient.grpc.aio as grpc_aio

        self.url = _check_url(url)
        self._mod = grpc_aio
        tls_args = {}
        if tls is not None and tls.enabled:
            tls_args = dict(ssl=True, root_certificates=tls.ca, private_key=tls.key,
                            certificate_chain=tls.cert)
        self._client = grpc_aio.InferenceServerClient(url, channel_args=GRPC_CHANNEL_ARGS,
                                                      **tls_args)

    def _inputs(self, inputs: Mapping[str, np.ndarray]) -> list:
        from tritonclient.utils import np_to_triton_dtype

        tensors = []
        for name, array in inputs.items():
            tensor = self._mod.InferInput(name, list(array.shape), np_to_triton_dtype(array.dtype))
            tensor.set_data_from_numpy(array)
            tensors.append(tensor)
        return tensors

    async def infer(self, *, model_name, model_version, inputs, request_id, timeout_s):
        result = await self._client.infer(
            model_name, self._inputs(inputs), model_version=model_version,
            request_id=request_id, timeout=triton_timeout_us(timeout_s), client_timeout=timeout_s,
        )
        return _present(result, OUTPUT_NAMES + OPTIONAL_NAMES)

    def open_stream(self, *, model_name, model_version, inputs, request_id, timeout_s
                    ) -> GrpcStreamCall:
        request = {"model_name": model_name, "model_version": model_version,
                   "inputs": self._inputs(inputs), "request_id": request_id,
                   "timeout": triton_timeout_us(timeout_s)}
        return GrpcStreamCall(self._client, request, url=self.url, timeout_s=timeout_s)

    async def server_live(self, timeout_s):
        return bool(await self._client.is_server_live(client_timeout=timeout_s))

    async def server_ready(self, timeout_s):
        return bool(await self._client.is_server_ready(client_timeout=timeout_s))

    async def model_ready(self, name, version, timeout_s):
        return bool(await self._client.is_model_ready(name, version, client_timeout=timeout_s))

    async def model_index(self, timeout_s, headers=None):
        index = await self._client.get_model_repository_index(
            as_json=True, client_timeout=timeout_s, headers=headers
        )
        return list(index.get("models", []))

    async def close(self):
        await self._client.close()


class HttpTransport:
    def __init__(self, url: str, tls: TlsSettings | None = None):
        import tritonclient.http.aio as http_aio

        self.url = _check_url(url)
        self._mod = http_aio
        # Triton 2.51's HTTP listener has no TLS: this is for a TLS proxy in front of it.
        tls_args = ({"ssl": True, "ssl_context": tls.ssl_context()}
                    if tls is not None and tls.enabled else {})
        # The per-call deadline is applied by the retry loop; this only bounds a stuck socket.
        self._client = http_aio.InferenceServerClient(url, conn_timeout=600.0, **tls_args)

    async def infer(self, *, model_name, model_version, inputs, request_id, timeout_s):
        from tritonclient.utils import np_to_triton_dtype

        tensors = []
        for name, array in inputs.items():
            tensor = self._mod.InferInput(name, list(array.shape), np_to_triton_dtype(array.dtype))
            tensor.set_data_from_numpy(array, binary_data=True)
            tensors.append(tensor)
        # No outputs named: tritonclient then asks for all of them in binary form.
        result = await self._client.infer(
            model_name, tensors, model_version=model_version, request_id=request_id,
            timeout=triton_timeout_us(timeout_s),
        )
        return _present(result, OUTPUT_NAMES + OPTIONAL_NAMES)

    async def server_live(self, timeout_s):
        return bool(await self._client.is_server_live())

    async def server_ready(self, timeout_s):
        return bool(await self._client.is_server_ready())

    async def model_ready(self, name, version, timeout_s):
        return bool(await self._client.is_model_ready(name, version))

    async def model_index(self, timeout_s, headers=None):
        return list(await self._client.get_model_repository_index(headers=headers))

    async def close(self):
        await self._client.close()


class GrpcStreamCall:
    """tritonclient's `stream_infer` for one request. The request iterator stays open until the
    final response (ending it early would half-close the stream before the server answered)."""

    def __init__(self, client, request: dict, *, url: str, timeout_s: float):
        self.url = url
        self._writes_done = asyncio.Event()
        done = self._writes_done  # the generator holds the event, not self (no cycle)

        async def requests():
            yield request
            await done.wait()

        self._responses = client.stream_infer(requests(), stream_timeout=timeout_s)

    async def receive(self) -> dict[str, np.ndarray]:
        try:
            result, error = await self._responses.__anext__()
        except StopAsyncIteration:
            raise InferenceFailedError(self.url, "the stream ended before its final response")
        if error is not None:
            raise classify_stream_error(str(error.message() or ""), url=self.url)
        return _present(result, STREAM_NAMES)

    def done_writing(self) -> None:
        self._writes_done.set()

    def cancel(self) -> None:
        self._writes_done.set()
        self._responses.cancel()


def make_transport(protocol: str, url: str, tls: TlsSettings | None = None) -> Transport:
    if protocol == "grpc":
        return GrpcTransport(url, tls)
    if protocol == "http":
        return HttpTransport(url, tls)
    raise ConfigError(f"client.protocol must be one of {PROTOCOLS}, not {protocol!r}")
