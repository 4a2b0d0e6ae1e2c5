"""The crisis classifier: an ensemble of fine-tuned top encoder layers with linear heads, blended
with an n-gram head.

    features_k(text) = [mean-pooled output of member k's tuned top layers (384), standardised cues (10)]
    z_k              = features_k . member{k}.head.weight + member{k}.head.bias
    z_encoder        = mean over the members of z_k
    z_ngram          = ngram_model.ngram_logits(text)          (the words' surface, see ngram_model)
    p                = sigmoid((1 - w) z_encoder + w z_ngram),  w = blend.weight, chosen on validation

Why several members: fine-tuning the same layers on the same data from another seed (batch order,
head init, dropout) moved validation precision at the recall target from 0.838 to 0.877 over five
seeds; the mean of the members' logits is steadier than any one of them (docs/scoring.md, "Seed
ensemble").

`crisis_logits` is the one function that computes a member's logit, on padded batches of cached
lower-layer states while training and on one text at a time when serving, so the two cannot
drift. Parameters (float32 tensors): per member k, `member{k}.layer{i}.*` (its tuned top layers,
encoder.LAYER_PARAMS names; stored in fp16), `member{k}.head.weight` (394,), `member{k}.head.bias`
(1,); shared: `cue.mean` / `cue.scale` (10,) from the train split (scale already divided by the
cue weight), `blend.weight` (1,), and ngram_model's parameters.
"""

from __future__ import annotations

import numpy as np

from pipeline_lib.scoring.crisis_cues import N_CUE_FEATURES, CrisisCues
from pipeline_lib.scoring.encoder import EMBED_DIM, mean_pool, top_forward
from pipeline_lib.scoring.ngram_model import PARAM_NAMES as NGRAM_PARAMS
from pipeline_lib.scoring.ngram_model import ngram_logits

FEATURE_DIM = EMBED_DIM + N_CUE_FEATURES
PREFIX = "crisis."  # the classifier's tensors in the weights file
MEMBER = "member"  # member{k}.<name>: the tensors each ensemble member has of its own
MEMBER_OWN = ("layer", "head.")


def crisis_features(pooled, cue_features, params):
    """(batch, 384) pooled states + (batch, 10) raw cue features -> (batch, 394) features."""
    import torch

    return torch.cat([pooled, (cue_features - params["cue.mean"]) / params["cue.scale"]], dim=1)


def crisis_logits(params: dict, states, cue_features, mask=None, *, dropout: float = 0.0):
    """One member's (batch,) logits from lower-layer states (batch, tokens, 384) and raw cue
    features; params holds that member's `layer{i}.*` and `head.*` and the shared `cue.*`."""
    pooled = mean_pool(top_forward(params, states, mask, dropout=dropout), mask)
    return crisis_features(pooled, cue_features, params) @ params["head.weight"] + params["head.bias"]


def member_params(params: dict) -> list[dict]:
    """The ensemble's members, each as crisis_logits takes it (its own names without the
    `member{k}.` prefix, plus the shared tensors)."""
    shared = {k: v for k, v in params.items() if not k.startswith(MEMBER)}
    n = len({k.split(".", 1)[0] for k in params if k.startswith(MEMBER)})
    return [dict(shared, **{k.split(".", 1)[1]: v for k, v in params.items()
                            if k.startswith(f"{MEMBER}{i}.")}) for i in range(n)]


def ensemble(members: list[dict]) -> dict:
    """The inverse of member_params: one parameter dict with `member{k}.` names."""
    out = {k: v for k, v in members[0].items() if not k.startswith(MEMBER_OWN)}
    for i, m in enumerate(members):
        out.update({f"{MEMBER}{i}.{k}": v for k, v in m.items() if k.startswith(MEMBER_OWN)})
    return out


def is_tuned_layer(name: str) -> bool:
    """A tuned layer's tensor (`layer{i}.*` or `member{k}.layer{i}.*`): stored in fp16."""
    return any(part.startswith("layer") for part in name.split(".")[:2])


def encoder_logits(params: dict, states, cue_features):
    """(batch,) z_encoder: the mean of the members' logits."""
    import torch

    return torch.stack([crisis_logits(m, states, cue_features) for m in member_params(params)]).mean(0)


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
        z = float(encoder_logits(params, states, cue_tensor([cues]))[0])
    return z, float(ngram_logits(params, [text])[0])


def probability(params: dict, states, cues: CrisisCues, text: str) -> float:
    """p of one window (the served crisis probability)."""
    return float(blended_probability(*window_logits(params, states, cues, text),
                                     float(params["blend.weight"][0])))


def check_params(params: dict) -> None:
    from pipeline_lib.errors import SetupError
    from pipeline_lib.scoring.encoder import LAYER_PARAMS, TUNED_LAYERS

    own = {f"layer{i}.{n}" for i in range(TUNED_LAYERS) for n in LAYER_PARAMS} | {"head.weight", "head.bias"}
    shared = {"cue.mean", "cue.scale", "blend.weight", *NGRAM_PARAMS}
    members = member_params(params)
    if (not members or shared - set(params)
            or any(own - set(m) or tuple(m["head.weight"].shape) != (FEATURE_DIM,) for m in members)):
        raise SetupError("the crisis classifier's weights do not match this code: rerun "
                         "`pixel train-scoring`")
