"""The crisis classifier: the fine-tuned top encoder layers and a linear head, blended with an n-gram head.

    features(text) = [mean-pooled output of the tuned top layers (384), standardised cue features (10)]
    z_encoder      = features . head.weight + head.bias
    z_ngram        = ngram_model.ngram_logits(text)          (the words' surface, see ngram_model)
    p              = sigmoid((1 - w) z_encoder + w z_ngram),  w = blend.weight, chosen on validation

`crisis_logits` is the one function that computes it, on padded batches of cached lower-layer
states while training and on one text at a time when serving, so the two cannot drift. Parameters
(float32 tensors): `layer{i}.*` (the tuned top layers, encoder.LAYER_PARAMS names; stored in fp16),
`head.weight` (394,), `head.bias` (1,), `cue.mean` / `cue.scale` (10,) from the train split
(scale already divided by the cue weight), `blend.weight` (1,), and ngram_model's parameters.
"""

from __future__ import annotations

import numpy as np

from pipeline_lib.scoring.crisis_cues import N_CUE_FEATURES, CrisisCues
from pipeline_lib.scoring.encoder import EMBED_DIM, mean_pool, top_forward
from pipeline_lib.scoring.ngram_model import PARAM_NAMES as NGRAM_PARAMS
from pipeline_lib.scoring.ngram_model import ngram_logits

FEATURE_DIM = EMBED_DIM + N_CUE_FEATURES
PREFIX = "crisis."  # the classifier's tensors in the weights file


def crisis_features(pooled, cue_features, params):
    """(batch, 384) pooled states + (batch, 10) raw cue features -> (batch, 394) features."""
    import torch

    return torch.cat([pooled, (cue_features - params["cue.mean"]) / params["cue.scale"]], dim=1)


def crisis_logits(params: dict, states, cue_features, mask=None, *, dropout: float = 0.0):
    """(batch,) logits from lower-layer states (batch, tokens, 384) and raw cue features."""
    pooled = mean_pool(top_forward(params, states, mask, dropout=dropout), mask)
    return crisis_features(pooled, cue_features, params) @ params["head.weight"] + params["head.bias"]


def cue_tensor(cues: list[CrisisCues]):
    import torch

    return torch.tensor([c.as_features() for c in cues], dtype=torch.float32).reshape(len(cues), -1)


def blended_probability(z_encoder, z_ngram, weight: float):
    """p from the two heads' logits (arrays or floats): what serving and selection both compute."""
    z = (1.0 - weight) * np.asarray(z_encoder, dtype=np.float64) + weight * np.asarray(z_ngram)
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


def window_logits(params: dict, states, cues: CrisisCues, text: str) -> tuple[float, float]:
    """(z_encoder, z_ngram) of one window from its own (unpadded) lower-layer states and its
    idiom-blanked text."""
    import torch

    with torch.inference_mode():
        z = float(crisis_logits(params, states, cue_tensor([cues]))[0])
    return z, float(ngram_logits(params, [text])[0])


def probability(params: dict, states, cues: CrisisCues, text: str) -> float:
    """p of one window (the served crisis probability)."""
    return float(blended_probability(*window_logits(params, states, cues, text),
                                     float(params["blend.weight"][0])))


def check_params(params: dict) -> None:
    from pipeline_lib.errors import SetupError
    from pipeline_lib.scoring.encoder import LAYER_PARAMS, TUNED_LAYERS

    need = {f"layer{i}.{n}" for i in range(TUNED_LAYERS) for n in LAYER_PARAMS}
    need |= {"head.weight", "head.bias", "cue.mean", "cue.scale", "blend.weight", *NGRAM_PARAMS}
    if need - set(params) or tuple(params["head.weight"].shape) != (FEATURE_DIM,):
        raise SetupError("the crisis classifier's weights do not match this code: rerun "
                         "`pixel train-scoring`")
