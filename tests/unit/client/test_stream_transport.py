"""The transport layer without a server: what the gRPC stream and the unary calls send (deadline,
dtypes, outputs), how real tritonclient results and stream errors decode, and a stream against a
port where nothing listens."""

from __future__ import annotations

import asyncio
import socket

import grpc
import numpy as np
import pytest
from tritonclient.grpc import InferResult, service_pb2
from tritonclient.utils import InferenceServerException, np_to_triton_dtype, serialize_byte_tensor

from pipeline_lib.client import ClientSettings, GenerationOptions, PixelClient
from pipeline_lib.client.errors import (
    InferenceFailedError,
    InvalidRequestError,
    ServerOverloadedError,
    ServerUnavailableError,
    classify,
    classify_stream_error,
)
from pipeline_lib.client.result import ModelOutputs, encode_inputs
from pipeline_lib.client.retry import RetryPolicy
from pipeline_lib.client.stream_events import StreamDelta, decode_event
from pipeline_lib.client.transport import GrpcTransport, triton_timeout_us

URL = "127.0.0.1:8001"


def infer_result(**outputs: np.ndarray) -> InferResult:
    """A real tritonclient gRPC result holding the given outputs, as the wire carries them."""
    response = service_pb2.ModelInferResponse()
    for name, array in outputs.items():
        response.outputs.add(name=name, datatype=np_to_triton_dtype(array.dtype),
                             shape=list(array.shape))
        raw = serialize_byte_tensor(array).item() if array.dtype == np.object_ else array.tobytes()
        response.raw_output_contents.append(raw)
    return InferResult(response)


def b(value: str) -> np.ndarray:
    return np.array([[value.encode()]], dtype=np.object_)


UNARY = dict(
    response_text=b("Breathe with me."), eq_scores=np.full((1, 5), 0.5, dtype=np.float32),
    overall_eq=np.array([[0.5]], np.float32), safety_score=np.array([[1.0]], np.float32),
    bias_score=np.array([[0.0]], np.float32), persona_mode=b("calm"),
    inference_time_ms=np.array([[12.0]], np.float32), crisis_flag=np.array([[False]]),
)


async def transport_with_no_channel() -> GrpcTransport:
    transport = GrpcTransport(URL)
    await transport._client.close()  # the test puts a fake in its place
    return transport


class FakeTritonClient:
    """Stands for tritonclient.grpc.aio.InferenceServerClient: records what it is asked."""

    def __init__(self, results=(), stream=()):
        self.results = list(results)
        self.stream = list(stream)
        self.kwargs: dict = {}
        self.cancelled = False

    async def infer(self, model_name, inputs, **kwargs):
        self.kwargs = dict(kwargs, model_name=model_name, inputs=inputs)
        return self.results.pop(0)

    async def close(self):
        pass

    def stream_infer(self, inputs_iterator, stream_timeout=None):
        self.requests, self.stream_timeout = inputs_iterator, stream_timeout
        fake = self

        class Responses:
            async def __anext__(self):
                if not fake.stream:
                    raise StopAsyncIteration
                return fake.stream.pop(0)

            def cancel(self):
                fake.cancelled = True

        return Responses()


async def test_unary_grpc_sends_the_deadline_to_triton_and_takes_every_output():
    transport = await transport_with_no_channel()
    transport._client = fake = FakeTritonClient([infer_result(**UNARY, finish_reason=b("length"))])
    inputs = encode_inputs(text="hi", session_id="s", context_type="general_support",
                           generation=GenerationOptions(max_new_tokens=32, top_p=0.9).tensors())
    tensors = await transport.infer(model_name="pixel", model_version="", inputs=inputs,
                                    request_id="r1", timeout_s=2.5)
    assert fake.kwargs["timeout"] == 2_500_000 and fake.kwargs["client_timeout"] == 2.5
    assert "outputs" not in fake.kwargs  # all outputs: old and new servers alike
    assert {i.name(): i.datatype() for i in fake.kwargs["inputs"]} == {
        "text": "BYTES", "session_id": "BYTES", "context_type": "BYTES",
        "max_new_tokens": "INT32", "top_p": "FP32"}
    outputs = ModelOutputs.from_tensors(tensors)
    assert outputs.finish_reason == "length" and outputs.reply_persona is None
    await transport.close()


def test_an_old_servers_outputs_decode_with_no_provenance():
    old = ModelOutputs.from_tensors({k: infer_result(**UNARY).as_numpy(k) for k in UNARY})
    assert (old.reply_persona, old.crisis_reply_mode, old.finish_reason) == (None, None, None)
    cached_by_an_older_client = {k: v for k, v in old.to_dict().items()
                                 if k not in ("reply_persona", "finish_reason")}
    assert ModelOutputs.from_dict(cached_by_an_older_client) == old


def test_triton_timeout_is_whole_microseconds_never_zero():
    assert triton_timeout_us(1.5) == 1_500_000 and triton_timeout_us(1e-9) == 1


async def test_the_stream_request_stays_open_until_the_final_response():
    transport = await transport_with_no_channel()
    transport._client = fake = FakeTritonClient(stream=[
        (infer_result(stream_event=b("assessment"), text_delta=b(""), crisis_flag=np.array([[0]],
                      dtype=np.bool_), persona_mode=b("calm"), reply_persona=b("general_support")),
         None),
        (None, InferenceServerException(msg="overloaded: 12 requests wait for 8 slots")),
    ])
    call = transport.open_stream(model_name="pixel_stream", model_version="", request_id="r2",
                                 inputs=encode_inputs(text="hi", session_id="s",
                                                      context_type="general_support"),
                                 timeout_s=3.0)
    request = await fake.requests.__anext__()
    assert request["timeout"] == 3_000_000 and request["request_id"] == "r2"
    assert request["model_name"] == "pixel_stream" and fake.stream_timeout == 3.0
    more = asyncio.ensure_future(fake.requests.__anext__())
    event = decode_event(await call.receive(), url=URL)
    assert isinstance(event, StreamDelta) and event.is_assessment and event.crisis_flag is False
    with pytest.raises(ServerOverloadedError):
        await call.receive()
    assert not more.done()  # still open: closing it would half-close the stream
    call.done_writing()
    with pytest.raises(StopAsyncIteration):
        await more
    with pytest.raises(InferenceFailedError, match="ended before its final"):
        await call.receive()
    call.cancel()
    assert fake.cancelled
    await transport.close()


@pytest.mark.parametrize(("message", "expected", "field"), [
    ("text: must not be empty or whitespace only", InvalidRequestError, "text"),
    ("in model 'pixel_stream': temperature: must be >= 0", InvalidRequestError, "temperature"),
    ("[request id: r] unexpected inference input 'seed' for model 'pixel'", InvalidRequestError,
     "seed"),
    ("overloaded: 40 requests wait for 8 slots", ServerOverloadedError, None),
    ("Request for unknown model: 'pixel_stream' is not found", InferenceFailedError, None),
    ("scoring: CUDA error", InferenceFailedError, None),
])
def test_stream_errors_are_classified_from_their_message(message, expected, field):
    error = classify_stream_error(message, url=URL)
    assert type(error) is expected
    if field:
        assert error.field == field and not error.retryable
    if "unknown model" in message:
        assert "lm=engine" in str(error)


def test_grpc_errors_of_a_stream_are_classified_by_status():
    refused = grpc.aio.AioRpcError(grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(),
                                   grpc.aio.Metadata(), details="failed to connect")
    assert isinstance(classify(refused, url=URL), ServerUnavailableError)
    # The unary path: the engine refuses at admission with UNAVAILABLE + "overloaded:".
    refused = InferenceServerException(msg="overloaded: 9 wait", status="StatusCode.UNAVAILABLE")
    assert isinstance(classify(refused, url=URL), ServerOverloadedError)


def test_decode_event_refuses_what_it_does_not_know():
    with pytest.raises(InferenceFailedError, match="unknown stream_event"):
        decode_event({"stream_event": b("token")}, url=URL)
    with pytest.raises(InferenceFailedError, match="undecodable final"):
        decode_event({"stream_event": b("final"), "text_delta": b("")}, url=URL)
    assert decode_event({"stream_event": b("delta"), "text_delta": b("ñ")}, url=URL).text == "ñ"


def test_generation_options_check_types_and_encode_as_the_server_expects():
    options = GenerationOptions(max_new_tokens=64, temperature=0.7, top_p=1, seed=2**40)
    tensors = options.tensors()
    assert {k: (v.dtype, v.shape) for k, v in tensors.items()} == {
        "max_new_tokens": (np.int32, (1, 1)), "temperature": (np.float32, (1, 1)),
        "top_p": (np.float32, (1, 1)), "seed": (np.int64, (1, 1))}
    assert tensors["seed"][0, 0] == 2**40 and options.is_set
    assert GenerationOptions().tensors() == {} and not GenerationOptions().is_set
    for bad, match in ((dict(max_new_tokens=True), "max_new_tokens: must be an int"),
                       (dict(max_new_tokens=2**31), "max_new_tokens: must fit in 32 bits"),
                       (dict(seed=1.5), "seed: must be an int"),
                       (dict(top_p=float("nan")), "top_p: must be a finite")):
        with pytest.raises(InvalidRequestError, match=match):
            GenerationOptions(**bad)


async def test_a_stream_to_a_closed_port_fails_as_unavailable_and_is_recorded():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"127.0.0.1:{sock.getsockname()[1]}"  # nothing listens once closed
    records = []

    class Recorder:
        async def record(self, record):
            records.append(record)

    settings = ClientSettings(grpc_url=url, retry=RetryPolicy(
        max_attempts=3, initial_backoff_s=0.01, max_backoff_s=0.02))
    async with PixelClient(settings, cache=None, recorder=Recorder()) as client:
        with pytest.raises(ServerUnavailableError):
            async for _ in client.stream("hi", "s-1", timeout=5.0):
                pass
        body = client.metrics.exposition().decode()
    assert 'pixel_client_attempts_total{variant="control"} 3.0' in body
    assert [r.error_kind for r in records] == ["unavailable"]


def test_the_client_asks_for_every_output_the_server_contract_names():
    from pipeline_lib import contract
    from pipeline_lib.client.errors import FIELD_NAMES
    from pipeline_lib.client.result import OPTIONAL_NAMES, OUTPUT_NAMES
    from pipeline_lib.client.transport import STREAM_NAMES

    assert FIELD_NAMES == tuple(t.name for t in contract.ORCHESTRATOR_INPUTS)
    assert OUTPUT_NAMES + OPTIONAL_NAMES == tuple(t.name for t in contract.ORCHESTRATOR_OUTPUTS)
    assert set(STREAM_NAMES) == {t.name for t in contract.STREAM_OUTPUTS}
