"""Training end to end on the real labelled set and the real sentence encoder."""

import json

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
    """(weights dir, meta): the served weights `make test` has just trained with `pixel prepare`
    (same data and code, checked by its stamp), or a fresh full training when they are missing or
    stale. A full training takes ~10 min on one core, so the suite does not repeat it."""
    from pipeline_lib.checkpoints import state_dir
    from pipeline_lib.cli.prepare import scorer_ready

    out = state_dir() / "scoring"
    if not scorer_ready():
        out = tmp_path_factory.mktemp("scoring")
        train(out)
    return out, json.loads((out / META_FILE).read_text())


def _small_copy(directory):
    """A small labelled set with the real files' layout: every code path of `train`, in seconds."""
    from pipeline_lib.scoring.dataset import data_dir

    for name, keep in (("crisis_messages.tsv", 160), ("crisis_validation.tsv", 80)):
        header, *rows = (data_dir() / name).read_text(encoding="utf-8").splitlines()
        rows = [r for r in rows if "\ttest\t" not in r]  # never the test split
        crises = [r for r in rows if r.split("\t")[2] == "1"][: keep // 2]
        others = [r for r in rows if r.split("\t")[2] == "0"][: keep // 2]
        (directory / name).write_text("\n".join([header, *crises, *others]) + "\n", encoding="utf-8")
    (directory / "reply_pairs.jsonl").write_bytes((data_dir() / "reply_pairs.jsonl").read_bytes())
    return directory


def test_training_is_deterministic(tmp_path):
    (tmp_path / "data").mkdir()
    data = _small_copy(tmp_path / "data")
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        out.mkdir()
        train(out, data=data)
    assert (first / WEIGHTS_FILE).read_bytes() == (second / WEIGHTS_FILE).read_bytes()
    assert (first / ENCODER_FILE).read_bytes() == (second / ENCODER_FILE).read_bytes()
    assert (first / META_FILE).read_text() == (second / META_FILE).read_text()


def test_training_reads_only_the_train_split(trained):
    from pipeline_lib.scoring.dataset import dataset_digest, load_crisis, load_pairs

    _, meta = trained
    assert meta["dataset_sha256"] == dataset_digest()
    assert meta["n_train_messages"] == len(load_crisis(split="train"))
    assert meta["n_train_pairs"] == len(load_pairs(split="train"))
    assert 0.0 < meta["crisis_threshold"] <= 0.5


def test_crisis_selection_is_recorded(trained):
    from pipeline_lib.scoring.training import (
        CRISIS_BLENDS,
        CRISIS_C_GRID,
        CRISIS_MODELS,
        CRISIS_RULES,
        CUE_WEIGHT_GRID,
        TARGET_RECALL,
        VETO_OVERRIDES,
    )

    _, meta = trained
    assert meta["crisis_rule"] in CRISIS_RULES
    assert meta["crisis_c"] in CRISIS_C_GRID and meta["crisis_cue_weight"] in CUE_WEIGHT_GRID
    assert meta["crisis_model"] in CRISIS_MODELS
    assert meta["crisis_veto_override"] in VETO_OVERRIDES
    if not meta["crisis_rule"].endswith("+veto"):
        assert meta["crisis_veto_override"] is None
    # the threshold keeps the recall target on the split that chose it (validation, no longer train CV)
    assert meta["crisis_selection"]["validation_recall"] >= TARGET_RECALL
    assert len(meta["crisis_platt"]) == 2 and meta["crisis_platt"][0] > 0  # calibration keeps order
    # the fine-tuned encoder's epoch and blend were chosen with the rest (blend 0: linear head alone)
    assert meta["crisis_blend"] in CRISIS_BLENDS and meta["crisis_epochs"] in CANDIDATE_EPOCHS
    assert meta["crisis_contract"]["kept"] is True


def test_served_weights_need_the_fine_tuned_encoder(trained, tmp_path):
    import shutil

    out, meta = trained
    if meta["crisis_blend"] == 0:
        pytest.skip("validation chose the linear head alone")
    for name in (WEIGHTS_FILE, META_FILE):
        shutil.copy(out / name, tmp_path / name)
    with pytest.raises(SetupError, match=ENCODER_FILE):
        Scorer.load(tmp_path)


def test_the_recorded_selection_was_made_on_the_validation_split(trained):
    import numpy as np

    from pipeline_lib.scoring.dataset import load_crisis, validation_digest
    from pipeline_lib.scoring.training import TARGET_RECALL

    out, meta = trained
    selection = meta["crisis_selection"]
    val = load_crisis(split="validation")
    assert selection["split"] == "validation" and selection["validation_sha256"] == validation_digest()
    assert selection["n_validation_messages"] == len(val)
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


def test_the_served_flag_keeps_the_whole_contract(trained):
    """Selection only chooses a model, rule and threshold that keep `crisis_contract`; the served
    scorer, loaded from disk, must then flag exactly its crises."""
    from pipeline_lib.scoring.crisis_contract import contract_texts

    out, meta = trained
    assert meta["crisis_contract"]["kept"] is True
    texts, labels = contract_texts()
    flags = [r.flag for r in Scorer.load(out).user_risk(texts)]
    assert [t for t, flag, label in zip(texts, flags, labels) if flag != bool(label)] == []
