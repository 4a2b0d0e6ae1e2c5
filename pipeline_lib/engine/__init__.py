"""The generation engine: in-flight batching over KV-cache slots, prefix cache, streaming helpers.

Pure PyTorch (no Triton): `models/` wraps it in a decoupled Python-backend model. The engine and
the detokenizer load lazily, so `pipeline_lib.engine.types` (the request rules) stays cheap to
import for processes without torch (the orchestrators check generation options with it).
"""

from pipeline_lib.engine.types import (CANCELLED, ERROR, LENGTH, STOP, EngineSettings,
                                       GenerationRequest, TokenEvent)

__all__ = ["CANCELLED", "ERROR", "Engine", "EngineSettings", "GenerationRequest",
           "IncrementalDetokenizer", "LENGTH", "STOP", "TokenEvent"]


def __getattr__(name: str):
    if name == "Engine":
        from pipeline_lib.engine.scheduler import Engine
        return Engine
    if name == "IncrementalDetokenizer":
        from pipeline_lib.engine.detokenize import IncrementalDetokenizer
        return IncrementalDetokenizer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
