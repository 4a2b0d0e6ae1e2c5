"""Trained heads: feature layout, linear heads, and their files (safetensors + JSON, no pickle).

Every head is linear over standardised features: logistic for crisis, safety and bias (probabilities,
Platt-calibrated by construction), identity clipped to [0, 1] for the five EQ dimensions (their
labels are the 0-4 rater scale divided by 4, so a score reads on that scale).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline_lib.errors import SetupError
from pipeline_lib.scoring.crisis_cues import N_CUE_FEATURES, CrisisCues
from pipeline_lib.scoring.encoder import EMBED_DIM, ENCODER_NAME
from pipeline_lib.scoring.response_cues import N_RESPONSE_FEATURES, ResponseCues

WEIGHTS_FILE = "scoring_heads.safetensors"
META_FILE = "scoring_meta.json"
FORMAT_VERSION = 5  # 2: ten crisis-cue features, crisis_rule in the meta; 3: "+veto" rules;
# 4: fine-tuned crisis encoder (finetune.py) blended with the linear crisis head; 5: veto override
HEAD_NAMES = ("crisis", "eq", "safety", "bias")
LINKS = {"crisis": "logistic", "eq": "identity", "safety": "logistic", "bias": "logistic"}

MESSAGE_DIM = EMBED_DIM + N_CUE_FEATURES
PAIR_DIM = EMBED_DIM + N_RESPONSE_FEATURES + N_CUE_FEATURES + 1


def message_features(emb: np.ndarray, cues: list[CrisisCues]) -> np.ndarray:
    """(n, MESSAGE_DIM): the message embedding and its crisis-cue features."""
    cue = np.array([c.as_features() for c in cues], dtype=np.float32).reshape(len(cues), -1)
    return np.concatenate([emb, cue], axis=1)


def pair_features(
    msg_emb: np.ndarray, resp_emb: np.ndarray, msg_cues: list[CrisisCues], resp_cues: list[ResponseCues]
) -> np.ndarray:
    """(n, PAIR_DIM): the reply's embedding and cues, the message's crisis cues, and how on-topic
    the reply is (cosine of the two unit embeddings)."""
    n = len(resp_cues)
    rc = np.array([r.as_features() for r in resp_cues], dtype=np.float32).reshape(n, -1)
    mc = np.array([c.as_features() for c in msg_cues], dtype=np.float32).reshape(n, -1)
    cos = np.sum(msg_emb * resp_emb, axis=1, keepdims=True)
    return np.concatenate([resp_emb, rc, mc, cos], axis=1)


@dataclass(frozen=True)
class LinearHead:
    mean: np.ndarray  # (d,)
    scale: np.ndarray  # (d,)
    coef: np.ndarray  # (k, d)
    intercept: np.ndarray  # (k,)
    link: str

    def predict(self, x: np.ndarray) -> np.ndarray:
        """(n, k) in [0, 1]."""
        z = ((x - self.mean) / self.scale) @ self.coef.T + self.intercept
        if self.link == "logistic":
            return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))
        return np.clip(z, 0.0, 1.0)


@dataclass(frozen=True)
class TrainedHeads:
    heads: dict[str, LinearHead]
    crisis_threshold: float
    meta: dict

    def save(self, out_dir: Path) -> None:
        from safetensors.numpy import save_file

        out_dir.mkdir(parents=True, exist_ok=True)
        tensors = {}
        for name, head in self.heads.items():
            for part in ("mean", "scale", "coef", "intercept"):
                tensors[f"{name}.{part}"] = np.ascontiguousarray(getattr(head, part), dtype=np.float64)
        save_file(tensors, str(out_dir / WEIGHTS_FILE))
        meta = dict(self.meta, crisis_threshold=self.crisis_threshold, format_version=FORMAT_VERSION)
        (out_dir / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")

    @property
    def crisis_rule(self) -> str:
        """"cue_or_classifier" (an explicit cue also flags) or "classifier" (p >= threshold only),
        with "+veto" when set-aside-only cues block the flag (crisis_selection.CRISIS_RULES)."""
        return self.meta.get("crisis_rule", "cue_or_classifier")

    @property
    def crisis_veto_override(self) -> float | None:
        """With a "+veto" rule: a vetoed message still flags when p >= this (None: never)."""
        value = self.meta.get("crisis_veto_override")
        return None if value is None else float(value)

    @property
    def crisis_blend(self) -> float:
        """Weight of the fine-tuned crisis encoder's logit in the served crisis logit (0: unused)."""
        return float(self.meta.get("crisis_blend", 0.0))

    @classmethod
    def load(cls, model_dir: Path) -> "TrainedHeads":
        from safetensors.numpy import load_file

        weights, meta_path = model_dir / WEIGHTS_FILE, model_dir / META_FILE
        if not weights.is_file() or not meta_path.is_file():
            raise SetupError(
                f"{model_dir} holds no trained scoring heads: run `pixel train-scoring --out {model_dir}`"
            )
        meta = json.loads(meta_path.read_text())
        if meta.get("format_version") != FORMAT_VERSION or meta.get("encoder") != ENCODER_NAME:
            raise SetupError(f"{model_dir} was trained by another version: rerun `pixel train-scoring`")
        tensors = load_file(str(weights))
        heads = {
            name: LinearHead(
                mean=tensors[f"{name}.mean"],
                scale=tensors[f"{name}.scale"],
                coef=tensors[f"{name}.coef"],
                intercept=tensors[f"{name}.intercept"],
                link=LINKS[name],
            )
            for name in HEAD_NAMES
        }
        expected = {"crisis": MESSAGE_DIM, "eq": PAIR_DIM, "safety": PAIR_DIM, "bias": PAIR_DIM}
        for name, dim in expected.items():
            if heads[name].coef.shape[1] != dim:
                raise SetupError(f"{model_dir}: head {name} has the wrong width; rerun train-scoring")
        return cls(heads=heads, crisis_threshold=float(meta["crisis_threshold"]), meta=meta)
