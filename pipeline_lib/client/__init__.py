"""The async client of the Pixel ensemble: routing, retries, cache, metrics, batch, recording.

    async with PixelClient(load_client_settings()) as client:
        result = await client.infer("I can't sleep", session_id="s-1",
                                    context_type="general_support")

    async with client.stream("I can't sleep", session_id="s-1") as events:
        async for event in events:      # StreamDelta..., then the PixelResult
            ...

It knows the server only through the ensemble's tensor names; it imports no server-side code.
"""

from pipeline_lib.client.ab import Variant, VariantRouter
from pipeline_lib.client.batch import BatchOutcome, InferRequest, PixelBatchInferenceManager
from pipeline_lib.client.client import PixelClient
from pipeline_lib.client.health import HealthReport
from pipeline_lib.client.errors import (
    ClientError,
    DeadlineExceededError,
    InferenceFailedError,
    InvalidRequestError,
    ServerOverloadedError,
    ServerUnavailableError,
)
from pipeline_lib.client.request import GenerationOptions
from pipeline_lib.client.result import EQ_DIMENSIONS, PixelResult
from pipeline_lib.client.settings import ClientSettings, load_client_settings
from pipeline_lib.client.stream_events import StreamDelta
from pipeline_lib.client.streaming import PixelStream

__all__ = [
    "EQ_DIMENSIONS",
    "BatchOutcome",
    "ClientError",
    "ClientSettings",
    "DeadlineExceededError",
    "GenerationOptions",
    "HealthReport",
    "InferRequest",
    "InferenceFailedError",
    "InvalidRequestError",
    "PixelBatchInferenceManager",
    "PixelClient",
    "PixelResult",
    "PixelStream",
    "ServerOverloadedError",
    "ServerUnavailableError",
    "StreamDelta",
    "Variant",
    "VariantRouter",
    "load_client_settings",
]
