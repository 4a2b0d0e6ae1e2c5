"""The client's exception tree and the mapping from Triton/gRPC/HTTP failures onto it.

Every class carries `kind` (a fixed metric label value) and `retryable` (whether the retry loop
may try again). Messages say what happened and what to do; they never contain the user's text.
"""

from __future__ import annotations

import asyncio
import re
from typing import ClassVar

from pipeline_lib.contract import ORCHESTRATOR_INPUTS, is_stub_down
from pipeline_lib.errors import InvalidInputError, PixelError

# Triton answers a full queue and an expired queue timeout (timeout_action: REJECT) with
# UNAVAILABLE (gRPC) / 503 (HTTP); only the message tells them from "server down"
# (triton core src/scheduler_utils.cc and src/dynamic_batch_scheduler.cc, checked for 2.51).
# The engine's admission control refuses with a message starting "overloaded:".
OVERLOAD_MARKERS = ("exceeds maximum queue size", "request timeout expired", "overloaded:")
# Every input a caller sends (the engine's optional generation inputs included).
FIELD_NAMES = tuple(t.name for t in ORCHESTRATOR_INPUTS)
_UNEXPECTED_INPUT = re.compile(r"unexpected inference input '([a-z_]+)'")


class ClientError(PixelError):
    """Base of every error PixelClient raises on purpose."""

    kind: ClassVar[str] = "client_error"
    retryable: ClassVar[bool] = False


class InvalidRequestError(ClientError, InvalidInputError):
    """The server refused the request (gRPC INVALID_ARGUMENT / HTTP 400). Never retried."""

    kind = "invalid_input"

    def __init__(self, field: str, rule: str):
        InvalidInputError.__init__(self, field, rule)
        self.args = (
            f"{field}: {rule} -- the server refused this request; fix the input "
            "(retrying the same request will fail the same way)",
        )


class DeadlineExceededError(ClientError):
    """No answer within the per-call deadline."""

    kind = "timeout"

    def __init__(self, url: str, deadline_s: float, attempts: int):
        super().__init__(
            f"no answer from {url} within the {deadline_s:.1f}s deadline after {attempts} "
            "attempt(s); raise the timeout (client.timeout_s or timeout=) or check the "
            "server's load with `pixel health`"
        )
        self.deadline_s = deadline_s
        self.attempts = attempts


class ServerUnavailableError(ClientError):
    """The server cannot be reached or is not ready (connection refused, model not ready)."""

    kind = "unavailable"
    retryable = True

    def __init__(self, url: str, detail: str):
        super().__init__(
            f"server at {url} is unavailable ({detail}); check that tritonserver is running "
            f"and its models are ready (`pixel health --url {url}`)"
        )
        self.detail = detail


class OutcomesBackedUpError(ClientError):
    """The outcome spool is at its cap (store.spool.at_cap=fail_closed): this client refuses new
    calls until the database takes the spooled outcomes. Retry later."""

    kind = "unavailable"
    retryable = True

    def __init__(self, detail: str):
        super().__init__(f"not taking new calls: {detail}")


class ServerOverloadedError(ClientError):
    """The server refused the request because its queue is full or the queue wait expired."""

    kind = "overloaded"
    retryable = True

    def __init__(self, url: str, detail: str):
        super().__init__(
            f"server at {url} is overloaded ({detail}); retry later, lower the batch "
            "concurrency (client.batch.concurrency) or add model instances"
        )
        self.detail = detail


class InferenceFailedError(ClientError):
    """The server failed while processing the request (INTERNAL, unknown model, bad output)."""

    kind = "server_error"

    def __init__(self, url: str, detail: str):
        super().__init__(
            f"server at {url} failed to process the request ({detail}); see the tritonserver "
            "log; the request was not retried"
        )
        self.detail = detail


ERROR_KINDS = tuple(
    cls.kind
    for cls in (
        InvalidRequestError,
        DeadlineExceededError,
        ServerUnavailableError,
        ServerOverloadedError,
        InferenceFailedError,
    )
)


_FIELD = re.compile(r"(?:^|[\s,\]])([a-z_][a-z0-9_]*): (.+)$", re.DOTALL)


def _known_field(message: str) -> tuple[str, str] | None:
    """'field: rule' for one of our input names, wherever Triton's prefixes put it."""
    for name in FIELD_NAMES:
        at = message.find(f"{name}: ")
        if at == 0 or (at > 0 and not (message[at - 1].isalnum() or message[at - 1] == "_")):
            return name, message[at + len(name) + 2:].strip()
    unexpected = _UNEXPECTED_INPUT.search(message)
    if unexpected:
        # An older server (the run-to-completion ensemble) takes no generation options.
        return unexpected.group(1), ("this model does not take it (an older server without the "
                                     "engine?); leave the option out")
    return None


def _split_field(message: str) -> tuple[str, str]:
    """Find 'field: rule' in the server's message; Triton may prefix it ("in ensemble 'pixel', ",
    "[request id: ...] "), so the ensemble's input names are looked for first."""
    known = _known_field(message)
    if known:
        return known
    match = _FIELD.search(message)
    if match:
        return match.group(1), match.group(2).strip()
    return "request", message.strip()


def _by_status(url: str, status: str, message: str) -> ClientError:
    """Map a gRPC status name ('StatusCode.X') or an HTTP status ('503') onto the tree."""
    status = status.removeprefix("StatusCode.")
    lowered = message.lower()
    if status in ("INVALID_ARGUMENT", "400"):
        field, rule = _split_field(message)
        return InvalidRequestError(field, rule)
    if is_stub_down(message):
        # A model's stub died (Triton says INTERNAL/500); the server heals it: retryable.
        return ServerUnavailableError(url, message)
    if status in ("UNAVAILABLE", "503", "RESOURCE_EXHAUSTED", "429"):
        if status in ("RESOURCE_EXHAUSTED", "429") or any(m in lowered for m in OVERLOAD_MARKERS):
            return ServerOverloadedError(url, message)
        return ServerUnavailableError(url, message)
    if status in ("DEADLINE_EXCEEDED", "504"):
        return DeadlineExceededError(url, 0.0, 0)  # the retry loop fills in the real figures
    if status == "CANCELLED":
        # The channel was closed under the call (server shutting down).
        return ServerUnavailableError(url, message)
    if status in ("NOT_FOUND", "404"):
        return InferenceFailedError(
            url, f"{message}; is the variant's model_name/model_version in client.ab right?"
        )
    return InferenceFailedError(url, f"[{status}] {message}")


def classify(exc: BaseException, *, url: str) -> ClientError:
    """Translate an exception raised by tritonclient, grpc or aiohttp into a ClientError.

    Deadline expiry is handled by the retry loop (it knows the deadline), not here.
    """
    if isinstance(exc, ClientError):
        return exc
    # Imported here so the error tree can be imported without the transport stacks.
    from tritonclient.utils import InferenceServerException

    if isinstance(exc, InferenceServerException):
        return _by_status(url, str(exc.status() or ""), str(exc.message() or ""))
    import grpc

    if isinstance(exc, grpc.RpcError) and hasattr(exc, "code"):
        # A streaming call raises grpc's own error (tritonclient wraps only unary calls).
        return _by_status(url, str(exc.code()), str(exc.details() or ""))
    import aiohttp

    if isinstance(exc, (aiohttp.ClientConnectionError, ConnectionError)):
        return ServerUnavailableError(url, f"{type(exc).__name__}: connection failed")
    if isinstance(exc, aiohttp.ClientResponseError):
        return _by_status(url, str(exc.status), exc.message)
    if isinstance(exc, asyncio.TimeoutError):
        return ServerUnavailableError(url, "connection timed out")
    return InferenceFailedError(url, f"unexpected {type(exc).__name__}")


def classify_stream_error(message: str, *, url: str) -> ClientError:
    """Translate an error a gRPC stream carried as a response (a message, no status code)."""
    lowered = message.lower()
    if any(marker in lowered for marker in OVERLOAD_MARKERS):
        return ServerOverloadedError(url, message)
    known = _known_field(message)
    if known:
        return InvalidRequestError(*known)
    if "unknown model" in lowered or "not found" in lowered:
        return InferenceFailedError(
            url, f"{message}; streaming needs the engine's `<model>_stream` model (lm=engine)"
        )
    if "not ready" in lowered or "unavailable" in lowered or is_stub_down(message):
        return ServerUnavailableError(url, message)
    return InferenceFailedError(url, message)
