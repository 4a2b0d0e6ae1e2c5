"""Triton Python model `scoring`: generated ids + the user's text -> response text and scores."""

import json
import time

import numpy as np
import triton_python_backend_utils as pb_utils

from pipeline_lib.scoring import Scorer
from pipeline_lib.serving.prompt import decode_field
from pipeline_lib.serving.triton_glue import artifacts_dir, execute_batched, model_settings, output_dtypes

INPUTS = ("output_ids", "output_length", "text", "context_type", "start_ns")


class TritonPythonModel:
    def initialize(self, args):
        from transformers import AutoTokenizer

        config = json.loads(args["model_config"])
        settings = model_settings(config)
        self.dtypes = output_dtypes(pb_utils, config)
        artifacts = artifacts_dir(args)
        self.default_context_type = settings["default_context_type"]
        self.tokenizer = AutoTokenizer.from_pretrained(str(artifacts / "tokenizer"))
        scorer_dir = artifacts / "scorer"
        self.scorer = Scorer.load(scorer_dir if scorer_dir.exists() else None,
                                  crisis_pointer=settings["crisis_pointer"])

    def compute(self, cols):
        lengths = cols["output_length"].reshape(-1)
        responses = [self.tokenizer.decode(ids[:n], skip_special_tokens=True).strip()
                     for ids, n in zip(cols["output_ids"], lengths, strict=True)]
        texts = [decode_field("text", t) for t in cols["text"].reshape(-1)]
        contexts = [decode_field("context_type", c).strip() or self.default_context_type
                    for c in cols["context_type"].reshape(-1)]
        scores = self.scorer.score_batch(user_texts=texts, responses=responses, context_types=contexts)
        elapsed_ms = (time.time_ns() - cols["start_ns"].reshape(-1)) / 1e6
        column = lambda f: np.array([[f(s)] for s in scores])  # noqa: E731
        return {
            "response_text": column(lambda s: s.response_text.encode("utf-8")).astype(np.object_),
            "eq_scores": np.array([s.eq_scores for s in scores], dtype=np.float32),
            "overall_eq": column(lambda s: s.overall_eq),
            "safety_score": column(lambda s: s.safety_score),
            "bias_score": column(lambda s: s.bias_score),
            "persona_mode": column(lambda s: s.persona_mode.encode("utf-8")).astype(np.object_),
            "inference_time_ms": elapsed_ms.reshape(-1, 1),
            "crisis_flag": column(lambda s: s.crisis_flag),
        }

    def execute(self, requests):
        return execute_batched(pb_utils, requests, input_names=INPUTS, dtypes=self.dtypes,
                               compute=self.compute)
