"""Mapping real tritonclient / aiohttp exceptions onto the client's error tree."""

import aiohttp
import pytest
from tritonclient.utils import InferenceServerException

from pipeline_lib.client.errors import (
    DeadlineExceededError,
    InferenceFailedError,
    InvalidRequestError,
    ServerOverloadedError,
    ServerUnavailableError,
    classify,
)
from pipeline_lib.errors import InvalidInputError, PixelError

URL = "127.0.0.1:8001"


@pytest.mark.parametrize(
    ("status", "message", "expected"),
    [
        ("StatusCode.INVALID_ARGUMENT", "text: must not be empty", InvalidRequestError),
        ("400", "context_type: must be one of ...", InvalidRequestError),
        ("StatusCode.UNAVAILABLE", "failed to connect to all addresses", ServerUnavailableError),
        ("503", "Request for unknown model: 'pixel' is not ready", ServerUnavailableError),
        # Triton 2.51 core: PolicyQueue::Enqueue / DynamicBatchScheduler REJECT.
        ("StatusCode.UNAVAILABLE", "[request id: <id_unknown>] Exceeds maximum queue size",
         ServerOverloadedError),
        ("503", "Request timeout expired", ServerOverloadedError),
        ("StatusCode.RESOURCE_EXHAUSTED", "too many", ServerOverloadedError),
        ("StatusCode.DEADLINE_EXCEEDED", "Deadline Exceeded", DeadlineExceededError),
        ("StatusCode.INTERNAL", "Stub process 'pixel_lm_0_0' is not healthy.",
         ServerUnavailableError),
        # A dependency the supervisor is reloading (unloaded, then loaded again).
        ("StatusCode.INTERNAL", "pixel_lm: Failed for execute the inference request. "
         "Model 'pixel_lm' is not ready.", ServerUnavailableError),
        ("500", "boom", InferenceFailedError),
        ("StatusCode.NOT_FOUND", "Request for unknown model: 'nope'", InferenceFailedError),
    ],
)
def test_triton_statuses_map_to_kinds(status, message, expected):
    error = classify(InferenceServerException(msg=message, status=status), url=URL)
    assert type(error) is expected
    assert isinstance(error, PixelError)


def test_invalid_input_names_the_field_and_says_not_to_retry():
    error = classify(
        InferenceServerException(msg="text: must not be empty",
                                 status="StatusCode.INVALID_ARGUMENT"),
        url=URL,
    )
    assert isinstance(error, InvalidInputError)
    assert (error.field, error.rule) == ("text", "must not be empty")
    assert not error.retryable
    assert "fix the input" in str(error)


@pytest.mark.parametrize(
    "message",
    [
        "in ensemble 'pixel', text: must not be empty",
        "[request id: <id_unknown>] text: must not be empty",
        "text: must not be empty",
    ],
)
def test_field_is_found_behind_triton_prefixes(message):
    error = classify(InferenceServerException(msg=message, status="400"), url=URL)
    assert (error.field, error.rule) == ("text", "must not be empty")


def test_retryable_flags():
    assert ServerUnavailableError(URL, "x").retryable
    assert ServerOverloadedError(URL, "x").retryable
    assert not InferenceFailedError(URL, "x").retryable
    assert not DeadlineExceededError(URL, 1.0, 1).retryable


def test_connection_failures_are_unavailable_with_a_next_step():
    exc = aiohttp.ClientConnectionError("Cannot connect to host 127.0.0.1:8000")
    error = classify(exc, url="127.0.0.1:8000")
    assert isinstance(error, ServerUnavailableError)
    assert "pixel health" in str(error)
    assert isinstance(classify(ConnectionRefusedError(), url=URL), ServerUnavailableError)


def test_unknown_exceptions_become_server_errors_without_their_text():
    error = classify(ValueError("user said something private"), url=URL)
    assert isinstance(error, InferenceFailedError)
    assert "private" not in str(error)
