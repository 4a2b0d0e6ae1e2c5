"""Errors in the OpenAI shape: `{"error": {"message", "type", "param", "code"}}` with its status.

The `openai` SDK turns the status into its typed exceptions (400 BadRequestError, 401
AuthenticationError, 404 NotFoundError, 413/5xx APIStatusError, 429 RateLimitError) and keeps
`param`, so a caller can see which field was refused. Messages never contain the user's text.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import JSONResponse

from pipeline_lib.client.errors import (
    ClientError,
    DeadlineExceededError,
    InvalidRequestError,
    ServerOverloadedError,
    ServerUnavailableError,
)
from pipeline_lib.errors import PixelError

# The server's input names as an OpenAI caller knows them.
_PARAM_OF_INPUT = {
    "text": "messages",
    "conversation": "messages",
    "context_type": "model",
    "max_new_tokens": "max_tokens",
    "session_id": "user",
}


class GatewayError(PixelError):
    """A refusal with its HTTP status, OpenAI error type, the field (`param`) and a code."""

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None,
                 headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = dict(headers or {})

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.type, "param": self.param,
                          "code": self.code}}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def invalid(param: str, rule: str) -> GatewayError:
    """400 naming the field: `<param>: <rule>`."""
    return GatewayError(400, f"{param}: {rule}", param=param, code="invalid_value")


def from_client_error(error: ClientError, *, param_names: Mapping[str, str] | None = None,
                      ) -> GatewayError:
    """Map the client's error tree onto HTTP: what the caller can fix is 400, the rest 5xx."""
    if isinstance(error, InvalidRequestError):
        names = {**_PARAM_OF_INPUT, **(param_names or {})}
        param = names.get(error.field, error.field)
        return GatewayError(400, f"{param}: {error.rule}", param=param, code="invalid_value")
    if isinstance(error, ServerOverloadedError):
        return GatewayError(503, "Pixel is overloaded; retry after a moment", type="overloaded",
                            code="overloaded", headers={"Retry-After": "1"})
    if isinstance(error, ServerUnavailableError):
        return GatewayError(503, "Pixel's model server is unavailable; retry later",
                            type="service_unavailable", code="unavailable",
                            headers={"Retry-After": "5"})
    if isinstance(error, DeadlineExceededError):
        return GatewayError(504, "no reply within the gateway's deadline", type="timeout",
                            code="timeout")
    return GatewayError(502, f"the model server failed this request ({error.kind})",
                        type="server_error", code=error.kind)
