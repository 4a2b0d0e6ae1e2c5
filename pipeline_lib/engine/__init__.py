"""The generation engine: in-flight batching over KV-cache slots, prefix cache, streaming helpers.

Pure PyTorch (no Triton): `models/` wraps it in a decoupled Python-backend model.
"""

from pipeline_lib.engine.detokenize import IncrementalDetokenizer
from pipeline_lib.engine.scheduler import Engine
from pipeline_lib.engine.text import trim_to_sentence
from pipeline_lib.engine.types import (CANCELLED, ERROR, LENGTH, STOP, EngineSettings,
                                       GenerationRequest, TokenEvent)

__all__ = ["CANCELLED", "ERROR", "Engine", "EngineSettings", "GenerationRequest",
           "IncrementalDetokenizer", "LENGTH", "STOP", "TokenEvent", "trim_to_sentence"]
