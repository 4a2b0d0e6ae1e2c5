"""The `scoring` model's work, in the three shapes its callers send.

- ensemble (run-to-completion `pixel`): generated ids -> decoded reply -> every score, with the
  crisis pointer appended to a flagged reply (the old order, kept for lm=python/hf/libtorch);
- assessment (the engine's orchestrators, before generation): the user's message, weighed with
  the earlier user turns of its conversation when sent (a crisis disclosed earlier keeps counting
  until the person says otherwise, pipeline_lib.scoring.conversation) -> crisis_flag, user_risk
  and the persona; nothing is generated yet (safety first);
- reply (the engine's orchestrators, after generation): the finished reply + the assessment ->
  every score. The orchestrator places the pointer itself (first), so it is not appended here.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from pipeline_lib.conversation_turns import earlier_user_texts, parse_conversation
from pipeline_lib.scoring import Scorer
from pipeline_lib.scoring.rules import persona_mode
from pipeline_lib.scoring.scorer import UserRisk
from pipeline_lib.serving.prompt import decode_field

Columns = dict[str, np.ndarray]

ENSEMBLE_INPUTS = ("output_ids", "output_length", "text", "context_type", "start_ns")
ASSESS_INPUTS = ("text", "context_type")
REPLY_INPUTS = ("text", "context_type", "reply_text", "user_risk", "user_flag")
# Inputs a shape may leave out -> what a row gets then (no earlier turns: the message alone).
OPTIONAL_INPUTS = {"assess": {"conversation": b""}}


def mode_of(present: set[str]) -> tuple[str, tuple[str, ...]]:
    """Which shape a request has, from the names of the inputs it carries."""
    if "reply_text" in present:
        return "reply", REPLY_INPUTS
    if "output_ids" in present:
        return "ensemble", ENSEMBLE_INPUTS
    return "assess", ASSESS_INPUTS


def _column(values) -> np.ndarray:
    return np.array([[v] for v in values])


def _strings(values) -> np.ndarray:
    return _column([v.encode("utf-8") for v in values]).astype(np.object_)


class ScoringStep:
    def __init__(self, settings: dict, artifacts: Path):
        import torch
        from transformers import AutoTokenizer

        torch.set_num_threads(settings["cpu_threads"])  # configs/scoring: why one
        self.default_context_type = settings["default_context_type"]
        self.tokenizer = AutoTokenizer.from_pretrained(str(artifacts / "tokenizer"))
        scorer_dir = artifacts / "scorer"
        self.scorer = Scorer.load(scorer_dir if scorer_dir.exists() else None,
                                  crisis_pointer=settings["crisis_pointer"])

    def _texts_and_contexts(self, cols: Columns) -> tuple[list[str], list[str]]:
        texts = [decode_field("text", t) for t in cols["text"].reshape(-1)]
        contexts = [decode_field("context_type", c).strip() or self.default_context_type
                    for c in cols["context_type"].reshape(-1)]
        return texts, contexts

    def assess(self, cols: Columns) -> Columns:
        texts, contexts = self._texts_and_contexts(cols)
        earlier = [earlier_user_texts(parse_conversation(c))
                   for c in cols.get("conversation", np.array([b""] * len(texts))).reshape(-1)]
        risks = self.scorer.user_risk(texts, previous_turns=earlier)
        return {
            "crisis_flag": _column([r.flag for r in risks]),
            "user_risk": _column([r.risk for r in risks]).astype(np.float32),
            "persona_mode": _strings([persona_mode(context_type=c, crisis_flag=r.flag,
                                                   user_risk=r.risk)
                                      for c, r in zip(contexts, risks, strict=True)]),
        }

    def reply(self, cols: Columns) -> Columns:
        texts, contexts = self._texts_and_contexts(cols)
        replies = [decode_field("reply_text", r) for r in cols["reply_text"].reshape(-1)]
        risks = [UserRisk(bool(f), float(r)) for f, r in
                 zip(cols["user_flag"].reshape(-1), cols["user_risk"].reshape(-1), strict=True)]
        scores = self.scorer.score_batch(user_texts=texts, responses=replies,
                                         context_types=contexts, user_risks=risks)
        out = self._scores(scores)
        out["response_text"] = _strings(replies)  # the orchestrator composes the final text
        out["user_risk"] = _column([r.risk for r in risks]).astype(np.float32)
        return out

    def ensemble(self, cols: Columns) -> Columns:
        lengths = cols["output_length"].reshape(-1)
        responses = [self.tokenizer.decode(ids[:n], skip_special_tokens=True).strip()
                     for ids, n in zip(cols["output_ids"], lengths, strict=True)]
        texts, contexts = self._texts_and_contexts(cols)
        scores = self.scorer.score_batch(user_texts=texts, responses=responses,
                                         context_types=contexts)
        out = self._scores(scores)
        out["inference_time_ms"] = ((time.time_ns() - cols["start_ns"].reshape(-1)) / 1e6
                                    ).reshape(-1, 1)
        return out

    @staticmethod
    def _scores(scores) -> Columns:
        return {
            "response_text": _strings([s.response_text for s in scores]),
            "eq_scores": np.array([s.eq_scores for s in scores], dtype=np.float32),
            "overall_eq": _column([s.overall_eq for s in scores]),
            "safety_score": _column([s.safety_score for s in scores]),
            "bias_score": _column([s.bias_score for s in scores]),
            "persona_mode": _strings([s.persona_mode for s in scores]),
            "inference_time_ms": np.zeros((len(scores), 1), dtype=np.float32),
            "crisis_flag": _column([s.crisis_flag for s in scores]),
        }
