"""Training end to end on the real labelled set and the real sentence encoder."""

import pytest

from pipeline_lib.errors import SetupError
from pipeline_lib.scoring import Scorer
from pipeline_lib.scoring.finetune import CANDIDATE_EPOCHS
from pipeline_lib.scoring.finetune import WEIGHTS_FILE as ENCODER_FILE
from pipeline_lib.scoring.heads import META_FILE, WEIGHTS_FILE
from pipeline_lib.scoring.training import train

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("scoring")
    report = train(out)
    return out, report


def test_training_is_deterministic(trained, tmp_path):
    out, _ = trained
    train(tmp_path)
    assert (tmp_path / WEIGHTS_FILE).read_bytes() == (out / WEIGHTS_FILE).read_bytes()
    assert (tmp_path / ENCODER_FILE).read_bytes() == (out / ENCODER_FILE).read_bytes()
    assert (tmp_path / META_FILE).read_text() == (out / META_FILE).read_text()


def test_training_reads_only_the_train_split(trained):
    from pipeline_lib.scoring.dataset import load_crisis, load_pairs

    _, report = trained
    assert report.n_messages == len(load_crisis(split="train"))
    assert report.n_pairs == len(load_pairs(split="train"))
    assert 0.0 < report.crisis_threshold <= 0.5


def test_crisis_selection_is_recorded(trained):
    import json

    from pipeline_lib.scoring.training import (
        CRISIS_C_GRID,
        CRISIS_MODELS,
        CRISIS_RULES,
        CUE_WEIGHT_GRID,
        TARGET_RECALL,
    )

    out, report = trained
    meta = json.loads((out / META_FILE).read_text())
    assert meta["crisis_rule"] == report.crisis_rule in CRISIS_RULES
    assert report.crisis_c in CRISIS_C_GRID and report.crisis_cue_weight in CUE_WEIGHT_GRID
    assert meta["crisis_model"] == report.crisis_model in CRISIS_MODELS
    # the threshold keeps the recall target on the split that chose it (validation, no longer train CV)
    assert report.validation_recall >= TARGET_RECALL
    assert len(meta["crisis_platt"]) == 2 and meta["crisis_platt"][0] > 0  # calibration keeps order
    # the fine-tuned encoder's epoch and blend were chosen with the rest, and never lose to the
    # linear head alone on validation (blend 0 is one of the candidates)
    from pipeline_lib.scoring.training import CRISIS_BLENDS

    assert meta["crisis_blend"] == report.crisis_blend in CRISIS_BLENDS
    assert meta["crisis_epochs"] == report.crisis_epochs in CANDIDATE_EPOCHS
    assert report.validation_precision >= meta["crisis_linear_validation"][1]


def test_served_weights_need_the_fine_tuned_encoder(trained, tmp_path):
    import shutil

    out, report = trained
    if report.crisis_blend == 0:
        pytest.skip("validation chose the linear head alone")
    for name in (WEIGHTS_FILE, META_FILE):
        shutil.copy(out / name, tmp_path / name)
    with pytest.raises(SetupError, match=ENCODER_FILE):
        Scorer.load(tmp_path)


def test_the_recorded_selection_was_made_on_the_validation_split(trained):
    import json

    import numpy as np

    from pipeline_lib.scoring.dataset import load_crisis, validation_digest
    from pipeline_lib.scoring.training import TARGET_RECALL

    out, report = trained
    selection = json.loads((out / META_FILE).read_text())["crisis_selection"]
    val = load_crisis(split="validation")
    assert selection["split"] == "validation" and selection["validation_sha256"] == validation_digest()
    assert selection["n_validation_messages"] == report.n_validation == len(val)
    # the served scorer, re-run on the validation split, gives the recorded figures
    flags = np.array([r.flag for r in Scorer.load(out).user_risk([m.text for m in val])])
    truth = np.array([m.crisis for m in val], dtype=bool)
    recall, precision = flags[truth].mean(), truth[flags].mean()
    assert round(float(recall), 4) == selection["validation_recall"] >= TARGET_RECALL
    assert round(float(precision), 4) == selection["validation_precision"]


def test_trained_scorer_keeps_the_contract(trained):
    out, _ = trained
    scorer = Scorer.load(out, crisis_pointer="Call the line.")
    users = ["this traffic is killing me", "I've been giving my things away, I won't need them",
             "I'm not suicidal, just tired"]
    replies = ["Ugh, that sounds frustrating.", "Okay.", "Burnout is real. What's taking your energy?"]
    first = scorer.score_batch(user_texts=users, responses=replies, context_types=["general_support"] * 3)
    again = scorer.score_batch(user_texts=users[::-1], responses=replies[::-1],
                               context_types=["general_support"] * 3)
    assert first == again[::-1]  # same input, same scores, whatever else is in the batch
    idiom, indirect, negated = first
    assert not idiom.crisis_flag and not negated.crisis_flag
    assert indirect.crisis_flag and indirect.response_text.endswith("Call the line.")
    for s in first:
        assert all(0.0 <= v <= 1.0 for v in (*s.eq_scores, s.overall_eq, s.safety_score, s.bias_score))


def test_trained_heads_rank_empathy_above_dismissal(trained):
    out, _ = trained
    scorer = Scorer.load(out)
    user = "My cat died this morning and I can't stop crying."
    good, bad = scorer.score_batch(
        user_texts=[user, user],
        responses=["I'm so sorry. Losing a companion hurts so much, and crying makes sense. "
                   "Would you like to tell me about her?", "It's just a cat, get another one."],
        context_types=["general_support"] * 2,
    )
    assert good.overall_eq > bad.overall_eq and good.eq_scores[3] > bad.eq_scores[3]
