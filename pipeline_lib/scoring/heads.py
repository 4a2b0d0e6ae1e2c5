"""Trained heads: the reply feature layout, linear heads, and the weights files (safetensors + JSON).

The reply heads are linear over standardised features: logistic for safety and bias
(probabilities), identity clipped to [0, 1] for the five EQ dimensions (their labels are the 0-4
rater scale divided by 4, so a score reads on that scale). The crisis classifier is in
`crisis_model`; its parameters and policy are stored in the same files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline_lib.errors import SetupError
from pipeline_lib.scoring.crisis_cues import N_CUE_FEATURES, CrisisCues
from pipeline_lib.scoring.crisis_model import PREFIX, check_params, is_tuned_layer
from pipeline_lib.scoring.crisis_policy import CrisisPolicy
from pipeline_lib.scoring.encoder import EMBED_DIM, ENCODER_NAME, TUNED_LAYERS
from pipeline_lib.scoring.response_cues import N_RESPONSE_FEATURES, ResponseCues

WEIGHTS_FILE = "scoring_weights.safetensors"
META_FILE = "scoring_meta.json"
FORMAT_VERSION = 8  # 8: the crisis classifier's encoder part is an ensemble of members
HEAD_NAMES = ("eq", "safety", "bias")
LINKS = {"eq": "identity", "safety": "logistic", "bias": "logistic"}

PAIR_DIM = EMBED_DIM + N_RESPONSE_FEATURES + N_CUE_FEATURES + 1


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
    """Everything `pixel train-scoring` writes: the reply heads, the crisis classifier's parameters
    (crisis_model) and the crisis policy, in one safetensors file plus a JSON meta file."""

    heads: dict[str, LinearHead]  # eq, safety, bias
    crisis: dict  # crisis_model parameters, float32 torch tensors
    policy: CrisisPolicy
    meta: dict

    def save(self, out_dir: Path) -> None:
        import torch
        from safetensors.torch import save_file

        out_dir.mkdir(parents=True, exist_ok=True)
        tensors = {}
        for name, head in self.heads.items():
            for part in ("mean", "scale", "coef", "intercept"):
                tensors[f"{name}.{part}"] = torch.from_numpy(
                    np.ascontiguousarray(getattr(head, part), dtype=np.float64))
        for name, value in self.crisis.items():
            # the tuned layers were rounded to fp16 by training (finetune.snapshot): lossless here
            dtype = torch.float16 if is_tuned_layer(name) else torch.float32
            tensors[PREFIX + name] = value.detach().to(dtype).contiguous().clone()
        save_file(tensors, str(out_dir / WEIGHTS_FILE))
        meta = dict(self.meta, crisis_policy=self.policy.as_meta(), format_version=FORMAT_VERSION,
                    encoder=ENCODER_NAME, tuned_layers=TUNED_LAYERS)
        (out_dir / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")

    @property
    def crisis_threshold(self) -> float:
        return self.policy.threshold

    @classmethod
    def load(cls, model_dir: Path) -> "TrainedHeads":
        from safetensors.torch import load_file

        weights, meta_path = model_dir / WEIGHTS_FILE, model_dir / META_FILE
        if not weights.is_file() or not meta_path.is_file():
            raise SetupError(
                f"{model_dir} holds no trained scoring heads: run `pixel train-scoring --out {model_dir}`"
            )
        meta = json.loads(meta_path.read_text())
        if (meta.get("format_version") != FORMAT_VERSION or meta.get("encoder") != ENCODER_NAME
                or meta.get("tuned_layers") != TUNED_LAYERS):
            raise SetupError(f"{model_dir} was trained by another version: rerun `pixel train-scoring`")
        tensors = load_file(str(weights))
        heads = {
            name: LinearHead(*(tensors[f"{name}.{part}"].numpy()
                               for part in ("mean", "scale", "coef", "intercept")), LINKS[name])
            for name in HEAD_NAMES
        }
        for name in HEAD_NAMES:
            if heads[name].coef.shape[1] != PAIR_DIM:
                raise SetupError(f"{model_dir}: head {name} has the wrong width; rerun train-scoring")
        crisis = {k[len(PREFIX):]: v.float() for k, v in tensors.items() if k.startswith(PREFIX)}
        check_params(crisis)
        return cls(heads=heads, crisis=crisis, policy=CrisisPolicy.from_meta(meta["crisis_policy"]),
                   meta=meta)
