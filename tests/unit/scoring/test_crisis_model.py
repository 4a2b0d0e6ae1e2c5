"""The crisis classifier's ensemble: members split and joined by name, their mean logit served."""

import pytest
import torch

from pipeline_lib.scoring.crisis_model import (
    FEATURE_DIM, check_params, crisis_logits, encoder_logits, ensemble, is_tuned_layer, member_params,
)
from pipeline_lib.errors import SetupError
from pipeline_lib.scoring.encoder import EMBED_DIM, LAYER_PARAMS, TUNED_LAYERS


@pytest.fixture(scope="module")
def top():
    from pipeline_lib.scoring.encoder import SentenceEncoder

    return SentenceEncoder.load().top  # the encoder's own top layers: real shapes and values


def _member(top: dict, seed: int) -> dict:
    """A member as fine-tuning leaves it: the top layers moved a little, its own head."""
    g = torch.Generator().manual_seed(seed)
    params = {k: v + 0.01 * torch.randn(v.shape, generator=g) for k, v in top.items()}
    params["head.weight"] = torch.randn(FEATURE_DIM, generator=g)
    params["head.bias"] = torch.randn(1, generator=g)
    return params


def _shared() -> dict:
    from pipeline_lib.scoring.ngram_model import PARAM_NAMES

    return {"cue.mean": torch.zeros(FEATURE_DIM - EMBED_DIM), "cue.scale": torch.ones(FEATURE_DIM - EMBED_DIM),
            "blend.weight": torch.tensor([0.2]), **{n: torch.zeros(1) for n in PARAM_NAMES}}


def test_members_round_trip_through_their_names(top):
    members = [dict(_shared(), **_member(top, s)) for s in (1, 2, 3)]
    joined = ensemble(members)
    assert sum(k.startswith("member2.layer") for k in joined) == TUNED_LAYERS * len(LAYER_PARAMS)
    assert not any(k.startswith(("layer", "head.")) for k in joined)  # no unprefixed member tensor
    back = member_params(joined)
    assert len(back) == 3
    for original, again in zip(members, back):
        assert original.keys() == again.keys()
        assert all(torch.equal(original[k], again[k]) for k in original)
    check_params(joined)


def test_the_served_logit_is_the_members_mean(top):
    members = [dict(_shared(), **_member(top, s)) for s in (4, 5)]
    states, cues = torch.randn(1, 7, EMBED_DIM), torch.rand(1, FEATURE_DIM - EMBED_DIM)
    alone = [float(crisis_logits(m, states, cues)[0]) for m in members]
    assert alone[0] != pytest.approx(alone[1])
    assert float(encoder_logits(ensemble(members), states, cues)[0]) == pytest.approx(sum(alone) / 2, rel=1e-5)


def test_a_member_missing_a_tensor_is_refused(top):
    joined = ensemble([dict(_shared(), **_member(top, s)) for s in (6, 7)])
    del joined["member1.head.bias"]
    with pytest.raises(SetupError, match="train-scoring"):
        check_params(joined)
    with pytest.raises(SetupError):
        check_params(_shared())  # no member at all


def test_only_tuned_layers_are_stored_in_half_precision():
    assert is_tuned_layer("member0.layer1.output.dense.weight") and is_tuned_layer("layer0.x")
    assert not any(map(is_tuned_layer, ("member0.head.weight", "cue.mean", "ngram.coef", "blend.weight")))
