"""Triton Python model `tokenizer`: raw text + context_type (+ earlier turns) -> chat-templated,
left-padded ids."""

import json
import time

import numpy as np
import triton_python_backend_utils as pb_utils

from pipeline_lib.serving.prompt import PromptEncoder, PromptSettings
from pipeline_lib.serving.triton_glue import artifacts_dir, execute_batched, guard_object_dtype, model_settings, output_dtypes

INPUTS = ("text", "session_id", "context_type")
OPTIONAL = {"conversation": b""}  # no earlier turns: a single-turn prompt


class TritonPythonModel:
    def initialize(self, args):
        guard_object_dtype()  # upstream bug, see triton_glue
        config = json.loads(args["model_config"])
        self.dtypes = output_dtypes(pb_utils, config)
        settings = PromptSettings.from_dict(model_settings(config))
        self.encoder = PromptEncoder.load(artifacts_dir(args) / "tokenizer", settings)

    def validate(self, cols):
        for text, session_id, context_type in zip(*(cols[n].reshape(-1) for n in INPUTS), strict=True):
            self.encoder.settings.check_text(text)
            self.encoder.settings.check_session_id(session_id)
            self.encoder.settings.check_context_type(context_type)
        for conversation in cols["conversation"].reshape(-1):
            self.encoder.settings.check_conversation(conversation)

    def compute(self, cols):
        start_ns = time.time_ns()
        texts = [self.encoder.settings.check_text(t) for t in cols["text"].reshape(-1)]
        contexts = [self.encoder.settings.check_context_type(c) for c in cols["context_type"].reshape(-1)]
        turns = [self.encoder.settings.check_conversation(c) for c in cols["conversation"].reshape(-1)]
        prefix_lengths: list[int] = []
        input_ids, attention_mask = self.encoder.encode_batch(texts, contexts, prefix_lengths, turns)
        start = np.full((len(texts), 1), start_ns, dtype=np.int64)
        return {"input_ids": input_ids, "attention_mask": attention_mask, "start_ns": start,
                "prefix_length": np.array(prefix_lengths, dtype=np.int64).reshape(-1, 1)}

    def execute(self, requests):
        return execute_batched(pb_utils, requests, input_names=INPUTS, dtypes=self.dtypes,
                               compute=self.compute, validate=self.validate,
                               optional_inputs=OPTIONAL)
