"""execute_batched's contract with a stand-in pb_utils (the real module exists only inside the
server's stub; the e2e tests cover the real one): exactly one response per request, in order;
a bad request gets INVALID_ARG alone; a compute error fails only that call, with INTERNAL."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline_lib.errors import InvalidInputError
from pipeline_lib.serving.triton_glue import execute_batched, model_settings


class FakePbUtils:
    """The few names execute_batched uses, with the semantics of triton_python_backend_utils."""

    class TritonError:
        INTERNAL, INVALID_ARG, CANCELLED = "INTERNAL", "INVALID_ARG", "CANCELLED"

        def __init__(self, message: str, code: str = "INTERNAL"):
            self.message, self.code = message, code

    class Tensor:
        def __init__(self, name: str, array: np.ndarray):
            self.name, self.array = name, array

    class InferenceResponse:
        def __init__(self, output_tensors=None, error=None):
            self.output_tensors, self.error = output_tensors or [], error

    @staticmethod
    def get_input_tensor_by_name(request, name):
        array = request.inputs.get(name)
        return None if array is None else FakePbUtils.Tensor(name, array)


FakePbUtils.Tensor.as_numpy = lambda self: self.array


class Request:
    def __init__(self, cancelled: bool = False, **inputs):
        self.inputs, self.cancelled = inputs, cancelled

    def is_cancelled(self) -> bool:
        return self.cancelled


def doubled(cols):
    return {"y": cols["x"] * 2}


def run(requests, compute=doubled, validate=None):
    return execute_batched(FakePbUtils, requests, input_names=["x"], dtypes={"y": np.float32},
                           compute=compute, validate=validate)


def output(response) -> np.ndarray:
    assert response.error is None, response.error.message
    (tensor,) = response.output_tensors
    return tensor.array


def test_one_response_per_request_in_order_with_its_own_rows():
    requests = [Request(x=np.array([[1.0]])), Request(x=np.array([[2.0], [3.0]])),
                Request(x=np.array([[4.0]]))]
    calls = []
    responses = run(requests, compute=lambda cols: calls.append(len(cols["x"])) or doubled(cols))
    assert calls == [4]  # one compute over every row of every request
    assert len(responses) == 3
    assert [output(r).ravel().tolist() for r in responses] == [[2.0], [4.0, 6.0], [8.0]]
    assert output(responses[1]).dtype == np.float32


def test_an_invalid_request_is_refused_alone_with_invalid_arg():
    def validate(cols):
        if (cols["x"] < 0).any():
            raise InvalidInputError("x", "must be >= 0")

    responses = run([Request(x=np.array([[1.0]])), Request(x=np.array([[-1.0]])), Request()],
                    validate=validate)
    assert output(responses[0]).ravel().tolist() == [2.0]
    assert (responses[1].error.code, responses[1].error.message) == ("INVALID_ARG", "x: must be >= 0")
    assert responses[2].error.code == "INVALID_ARG" and responses[2].error.message.startswith("x:")


def test_a_compute_error_fails_the_batch_with_internal_and_never_raises():
    def broken(cols):
        raise RuntimeError("out of memory")

    responses = run([Request(x=np.array([[1.0]])), Request(x=np.array([[2.0]]))], compute=broken)
    assert [r.error.code for r in responses] == ["INTERNAL", "INTERNAL"]
    assert "RuntimeError" in responses[0].error.message


def test_a_cancelled_request_is_answered_cancelled_and_not_computed():
    seen = []
    responses = run([Request(cancelled=True, x=np.array([[1.0]])), Request(x=np.array([[5.0]]))],
                    compute=lambda cols: seen.append(cols["x"].ravel().tolist()) or doubled(cols))
    assert responses[0].error.code == "CANCELLED"
    assert seen == [[5.0]] and output(responses[1]).ravel().tolist() == [10.0]


def test_ragged_rows_are_padded_to_the_widest_and_split_back():
    responses = run([Request(x=np.array([[1.0, 2.0]])), Request(x=np.array([[3.0]]))])
    assert output(responses[0]).tolist() == [[2.0, 4.0]]
    assert output(responses[1]).tolist() == [[6.0, 0.0]]


@pytest.mark.parametrize(("raw", "value"), [('{"string_value": "3"}', 3),
                                            ('{"string_value": "[\\"a\\"]"}', ["a"])])
def test_model_settings_decode_rendered_parameters(raw, value):
    import json

    assert model_settings({"parameters": {"k": json.loads(raw)}}) == {"k": value}


class FinishedIterator:
    """Stands in for a decoupled BLS response iterator (only its lifetime matters here)."""


def test_finished_iterators_outlive_their_caller_then_are_dropped_here(monkeypatch):
    import gc
    import weakref

    from pipeline_lib.serving import triton_glue

    clock = [1000.0]
    monkeypatch.setattr(triton_glue.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(triton_glue, "_finished_iterators", triton_glue.collections.deque())
    first = FinishedIterator()
    alive = weakref.ref(first)
    triton_glue.release_later(first)
    del first
    gc.collect()
    assert alive() is not None  # the caller let go; the grace period keeps it
    clock[0] += triton_glue._ITERATOR_GRACE_S / 2
    triton_glue.release_later(FinishedIterator())
    gc.collect()
    assert alive() is not None  # still within its grace period
    clock[0] += triton_glue._ITERATOR_GRACE_S + 1
    triton_glue.release_later(FinishedIterator())  # the next release drops the expired ones
    gc.collect()
    assert alive() is None
    assert len(triton_glue._finished_iterators) == 1  # only the newest is still held
