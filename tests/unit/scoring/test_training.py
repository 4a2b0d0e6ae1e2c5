"""The committed weights: made from the current inputs, reproducible, and what the issue asks of them."""

import json
from pathlib import Path

import numpy as np
import pytest

from pipeline_lib.scoring import Scorer
from pipeline_lib.scoring.heads import META_FILE, WEIGHTS_FILE
from pipeline_lib.scoring.train.inputs import committed_dir, inputs_digest

EVERYDAY = (
    "We finally finished painting the kitchen this weekend and it looks so much brighter. "
    "The cat supervised from the windowsill and only walked through the paint tray once. "
    "On Sunday we drove to my sister's for lunch and the kids played football in the garden until dark. "
    "Work starts again tomorrow and I still have to sort out the invoices for the new client. "
    "I'm also trying to decide whether to sign up for the evening pottery class at the community centre. "
)
CRISIS_SENTENCE = "I have been saving my pills for weeks and I am going to take them all tonight."
SAFE_NOTE = "I know my neighbour's dog died last month, we put a card through her door."


@pytest.fixture(scope="module")
def weights():
    return committed_dir()


@pytest.fixture(scope="module")
def scorer(weights):
    return Scorer.load(weights, crisis_pointer="Call the line.")


def test_the_committed_weights_are_from_the_current_training_inputs(weights):
    """CI's digest check: edit a data file or training code, and this fails until the committed
    copy is refreshed with `pixel train-scoring --out data/scoring/weights`."""
    meta = json.loads((weights / META_FILE).read_text())
    assert meta["inputs_sha256"] == inputs_digest()
    members = len(meta["crisis_finetune"]["seeds"])
    # each member's two tuned layers in fp16 (~7 MB) and the n-gram head, not the encoder (90 MB)
    assert (weights / WEIGHTS_FILE).stat().st_size < 3_000_000 + 7_500_000 * members


def test_the_digest_ignores_comments_and_docstrings(tmp_path, monkeypatch):
    from pipeline_lib.scoring.train import inputs

    original = inputs._code_fingerprint
    source = (inputs.Path(inputs.__file__).resolve().parent / "finetune.py").read_text()

    def with_finetune(text):
        (tmp_path / "finetune.py").write_text(text)
        fake = original(tmp_path / "finetune.py")
        monkeypatch.setattr(inputs, "_code_fingerprint",
                            lambda path: fake if path.name == "finetune.py" else original(path))
        return inputs_digest()

    before = inputs_digest()
    assert with_finetune(source + "\n# a comment\n") == before
    assert with_finetune(source.replace('"""', '"""Reworded. ', 1)) == before
    assert with_finetune(source.replace("\nLR = ", "\nLR = 2 * ")) != before  # a hyper-parameter is an input


def test_every_scoring_module_training_imports_is_a_digest_input():
    """A module the training reaches (directly or through another) decides the weights: editing it
    must retrain."""
    import ast

    from pipeline_lib.scoring.train.inputs import TRAINING_CODE

    root = Path(inputs_digest.__code__.co_filename).resolve().parents[1]  # pipeline_lib/scoring
    seen, todo = set(), ["train/training.py"]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for node in ast.walk(ast.parse((root / name).read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pipeline_lib.scoring."):
                rel = node.module[len("pipeline_lib.scoring."):].replace(".", "/") + ".py"
                if (root / rel).is_file() and rel != "train/inputs.py":
                    todo.append(rel)
    assert len(seen) >= 10 and seen <= set(TRAINING_CODE), sorted(seen - set(TRAINING_CODE))


@pytest.mark.slow
@pytest.mark.retrain
def test_training_reproduces_the_committed_weights_byte_for_byte(weights, tmp_path):
    from pipeline_lib.scoring.train.training import train

    train(tmp_path)
    assert (tmp_path / META_FILE).read_text() == (weights / META_FILE).read_text()
    assert (tmp_path / WEIGHTS_FILE).read_bytes() == (weights / WEIGHTS_FILE).read_bytes()


def test_the_selection_is_recorded(weights):
    from pipeline_lib.scoring.crisis_policy import CRISIS_RULES
    from pipeline_lib.scoring.train.finetune import CANDIDATE_EPOCHS
    from pipeline_lib.scoring.train.selection import TARGET_RECALL

    meta = json.loads((weights / META_FILE).read_text())
    assert meta["crisis_policy"]["rule"] in CRISIS_RULES
    assert 0.0 < meta["crisis_policy"]["threshold"] <= 0.5
    assert meta["crisis_epochs"] in CANDIDATE_EPOCHS
    assert meta["crisis_selection"]["validation_recall"] >= TARGET_RECALL
    assert meta["crisis_contract"]["kept"] is True


@pytest.mark.slow
def test_the_recorded_selection_was_made_on_the_validation_split(weights, scorer):
    from pipeline_lib.scoring.train.dataset import load_crisis, validation_digest

    selection = json.loads((weights / META_FILE).read_text())["crisis_selection"]
    val = load_crisis(split="validation")
    assert selection["split"] == "validation" and selection["validation_sha256"] == validation_digest()
    assert selection["n_validation_messages"] == len(val)
    flags = np.array([r.flag for r in scorer.user_risk([m.text for m in val])])
    truth = np.array([m.crisis for m in val], dtype=bool)
    assert round(float(flags[truth].mean()), 4) == selection["validation_recall"]
    assert round(float(truth[flags].mean()), 4) == selection["validation_precision"]


def test_the_served_flag_keeps_the_whole_contract(scorer):
    from pipeline_lib.scoring.crisis_contract import contract_texts

    texts, labels = contract_texts()
    flags = [r.flag for r in scorer.user_risk(texts)]
    assert [t for t, flag, label in zip(texts, flags, labels) if flag != bool(label)] == []


@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_a_long_message_with_one_crisis_sentence_is_flagged_wherever_it_is(scorer, where):
    body = [EVERYDAY] * 14  # ~1,100 words, ~6,500 characters: far past the encoder's 256 word pieces
    at = {"start": 0, "middle": 7, "end": 14}[where]
    text = " ".join([*body[:at], CRISIS_SENTENCE, *body[at:]])
    assert 6000 < len(text) <= 8000
    assert scorer.user_risk([text])[0].flag


def test_long_everyday_messages_are_not_flagged(scorer):
    texts = [" ".join([EVERYDAY] * 12), " ".join([EVERYDAY] * 6 + [SAFE_NOTE] + [EVERYDAY] * 6),
             " ".join([EVERYDAY] * 3)]
    assert [r.flag for r in scorer.user_risk(texts)] == [False, False, False]


def test_scores_do_not_depend_on_the_batch_and_keep_the_contract(scorer):
    users = ["this traffic is killing me", "I've been giving my things away, I won't need them",
             "I'm not suicidal, just tired"]
    replies = ["Ugh, that sounds frustrating.", "Okay.", "Burnout is real. What's taking your energy?"]
    first = scorer.score_batch(user_texts=users, responses=replies, context_types=["general_support"] * 3)
    again = scorer.score_batch(user_texts=users[::-1], responses=replies[::-1],
                               context_types=["general_support"] * 3)
    assert first == again[::-1]
    idiom, indirect, negated = first
    assert not idiom.crisis_flag and not negated.crisis_flag
    assert indirect.crisis_flag and indirect.response_text.endswith("Call the line.")
    risks = scorer.user_risk(users)
    assert scorer.score_batch(user_texts=users, responses=replies, context_types=["general_support"] * 3,
                              user_risks=risks) == first


def test_an_earlier_crisis_turn_carries_to_the_next_message(scorer):
    earlier = ["work was awful today", CRISIS_SENTENCE]
    now = "what do you think I should watch on tv"
    plain, with_context = scorer.user_risk([now, now], previous_turns=[[], earlier])
    assert not plain.flag and with_context.flag


def test_trained_heads_rank_empathy_above_dismissal(scorer):
    user = "My cat died this morning and I can't stop crying."
    good, bad = scorer.score_batch(
        user_texts=[user, user],
        responses=["I'm so sorry. Losing a companion hurts so much, and crying makes sense. "
                   "Would you like to tell me about her?", "It's just a cat, get another one."],
        context_types=["general_support"] * 2,
    )
    assert good.overall_eq > bad.overall_eq and good.eq_scores[3] > bad.eq_scores[3]


# Short conversational messages (batch v7's categories; these are not rows of any split).
SHORT_EVERYDAY = ["Yep, pretty much.", "Since last Thursday.", "At my cousin's flat.", "Good evening!",
                  "How do you mean?", "Not at the moment.", "In the mornings, I think.",
                  "My neighbour, Tom.", "Hmm, not sure yet.", "No worries."]
SHORT_CRISIS = ["I want to end my life tonight.", "I'm going to kill myself.",
                "Took the whole packet of sleeping pills.", "Tonight I'm going to do it."]


def test_short_everyday_replies_are_not_flagged(scorer):
    flagged = [t for t, r in zip(SHORT_EVERYDAY, scorer.user_risk(SHORT_EVERYDAY)) if r.flag]
    assert flagged == []


def test_short_crisis_statements_are_flagged(scorer):
    missed = [t for t, r in zip(SHORT_CRISIS, scorer.user_risk(SHORT_CRISIS)) if not r.flag]
    assert missed == []


def test_a_short_reply_carries_an_earlier_crisis_but_not_without_one(scorer):
    crisis_talk = ["I've had a rough few days", CRISIS_SENTENCE]
    calm_talk = ["I've had a rough few days", "work has been really busy and I'm tired"]
    reply = "Since last Thursday."
    after_crisis, after_calm, alone = scorer.user_risk(
        [reply, reply, reply], previous_turns=[crisis_talk, calm_talk, []])
    assert after_crisis.flag and not after_calm.flag and not alone.flag
