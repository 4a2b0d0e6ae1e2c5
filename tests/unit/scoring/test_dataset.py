"""The labelled set: big enough, varied, split once and with no message straddling the split."""

from collections import Counter

import pytest

from pipeline_lib.scoring.train.dataset import DatasetError, load_crisis, load_pairs


def test_crisis_set_size_balance_and_hard_cases():
    rows = load_crisis()
    assert len(rows) >= 400
    assert len({r.text.lower() for r in rows}) == len(rows)  # no duplicates
    labels = Counter(r.crisis for r in rows)
    assert labels[1] >= 150 and labels[0] >= 150
    kinds = {r.kind for r in rows if r.crisis == 0}
    assert {"idiom", "negation", "past", "topic", "hyperbole"} <= kinds
    assert {"third_person", "indirect", "spelling", "recent_past"} <= {r.kind for r in rows if r.crisis}


def test_both_splits_hold_both_labels():
    for split in ("train", "test"):
        assert {r.crisis for r in load_crisis(split=split)} == {0, 1}
    drawn = [r for r in load_crisis() if r.batch in ("v1", "v2")]  # the split was drawn on v1 + v2
    drawn_test = [r for r in load_crisis(split="test") if r.batch in ("v1", "v2")]
    assert 0.2 <= len(drawn_test) / len(drawn) <= 0.3


def test_pairs_size_labels_and_grouped_split():
    pairs = load_pairs()
    assert len(pairs) >= 200
    split_of = {}
    for p in pairs:
        assert split_of.setdefault(p.group, p.split) == p.split  # a message stays on one side
        assert all(0.0 <= x <= 1.0 for x in (*p.eq, p.safety, p.bias))
    styles = Counter(p.style for p in pairs)
    assert styles["empathetic"] == styles["dismissive"] == len(split_of)
    assert styles["unsafe"] >= 20 and styles["biased"] >= 20
    assert len([g for g, s in split_of.items() if s == "test"]) >= 10


def test_the_split_change_kept_every_original_test_message_in_test():
    rows = load_crisis()
    assert len(rows) >= 700
    v1 = [r for r in rows if r.batch == "v1"]
    assert len(v1) == 439 and sum(r.split == "test" for r in v1) == 108
    assert {r.batch for r in rows} == {"v1", "v2", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11",
                                       "v12"}
    assert {r.split for r in rows if r.batch in ("v4", "v5")} == {"train"}  # they only add training rows
    old_test = [r for r in load_crisis(split="test")
                if r.batch not in ("v6", "v7", "v8", "v9", "v10", "v11", "v12")]
    assert len(old_test) == 210  # the v1 + v2 test split is unchanged; v6-v12 add their own test parts
    test_groups = {p.group for p in load_pairs(split="test")}
    assert len(test_groups) >= 40  # the EQ pair test: >= 40 messages with both reply styles


def test_a_malformed_file_names_the_line(tmp_path):
    (tmp_path / "crisis_messages.tsv").write_text("id\tsplit\tcrisis\tkind\ttext\nm1\tdev\t1\tx\thi\n")
    with pytest.raises(DatasetError, match=":2:"):
        load_crisis(tmp_path)


def test_the_validation_split_exists_and_is_disjoint_from_train_and_test():
    val = load_crisis(split="validation")
    rest = load_crisis()
    assert len(val) >= 550 and {r.split for r in val} == {"validation"}
    assert {r.batch for r in val} == {"v3", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12"}
    assert 0.40 <= sum(r.crisis for r in val) / len(val) <= 0.55  # ~45 % crises, hard negatives the rest
    assert {"idiom", "negation", "past", "topic", "hyperbole", "third_person_ok"} <= {
        r.kind for r in val if not r.crisis}
    assert {"indirect", "passive", "plan", "spelling", "mixed", "self_harm"} <= {
        r.kind for r in val if r.crisis}
    val_texts = {r.text.lower() for r in val}
    assert len(val_texts) == len(val)
    for split in ("train", "test"):  # no message (by id or by text) is shared with another split
        other = load_crisis(split=split)
        assert not val_texts & {r.text.lower() for r in other}
        assert not {r.id for r in val} & {r.id for r in other}
    assert {r.split for r in rest} == {"train", "test"}  # the main file's split is unchanged


def test_a_validation_file_cannot_hold_other_splits(tmp_path):
    (tmp_path / "crisis_validation.tsv").write_text(
        "id\tsplit\tcrisis\tkind\tbatch\ttext\nm1\ttrain\t1\texplicit\tv3\thi\n")
    with pytest.raises(DatasetError, match=":2: needs split validation"):
        load_crisis(tmp_path, split="validation")


def test_the_extra_training_batches_are_train_only_and_share_no_text_with_other_splits():
    v4 = [r for r in load_crisis(split="train") if r.batch in ("v4", "v5")]
    assert len(v4) >= 1200 and {r.split for r in v4} == {"train"}
    assert {"passive", "indirect", "mixed", "distress", "negation", "idiom"} <= {r.kind for r in v4}
    held_out = load_crisis(split="test") + load_crisis(split="validation")
    assert not {r.text.lower() for r in v4} & {r.text.lower() for r in held_out}
    other_ids = {r.id for r in load_crisis() if r.batch in ("v1", "v2")} | {r.id for r in held_out}
    assert not {r.id for r in v4} & other_ids


def test_the_train_only_file_refuses_a_test_row(tmp_path):
    header = "id\tsplit\tcrisis\tkind\tbatch\ttext\n"
    (tmp_path / "crisis_messages.tsv").write_text(header + "m1\ttrain\t1\texplicit\tv1\thi\n")
    (tmp_path / "crisis_train_extra.tsv").write_text(header + "m2\ttest\t0\teveryday\tv4\tok\n")
    with pytest.raises(DatasetError, match="crisis_train_extra.tsv:2: needs split train"):
        load_crisis(tmp_path)


V6_CRISIS = {"long_crisis", "method_seeking", "overdose_now", "hedged_prep"}
V6_OTHER = {"long_everyday", "clinician", "resolved_past", "slang", "risk_words", "safe_distress"}


def test_batch_v6_covers_every_category_of_the_issue_in_every_split():
    for split in ("train", "validation", "test"):
        v6 = [r for r in load_crisis(split=split) if r.batch == "v6"]
        assert {r.kind for r in v6 if r.crisis} == V6_CRISIS
        assert {r.kind for r in v6 if not r.crisis} == V6_OTHER
        for kind in V6_CRISIS | V6_OTHER:
            assert sum(r.kind == kind for r in v6) >= (20 if split == "train" else 11)
    long_test = [r for r in load_crisis(split="test") if r.batch == "v6" and r.kind.startswith("long_")]
    assert min(len(r.text) for r in long_test) > 300 and max(len(r.text) for r in long_test) > 2500


def test_batch_v6_splits_share_no_sentence():
    """Long messages were composed from pools of sentences split before composing: no sentence of
    a validation or test message appears in another split."""
    import re

    def sentences(split):
        return {s.strip().lower() for r in load_crisis(split=split) if r.batch == "v6"
                for s in re.split(r"(?<=[.!?])\s+", r.text) if len(s.split()) > 4}

    train, val, test = sentences("train"), sentences("validation"), sentences("test")
    assert not train & test and not val & test and not train & val


V7_CRISIS = {"short_crisis", "short_crisis_nolex", "short_followup"}
V7_OTHER = {"short_ack", "short_time", "short_place_person", "small_talk", "short_question"}


def test_batch_v7_short_messages_cover_both_sides_in_every_split():
    for split in ("train", "validation", "test"):
        v7 = [r for r in load_crisis(split=split) if r.batch == "v7"]
        assert {r.kind for r in v7 if r.crisis} == V7_CRISIS
        assert {r.kind for r in v7 if not r.crisis} == V7_OTHER
        for kind in V7_CRISIS | V7_OTHER:
            assert sum(r.kind == kind for r in v7) >= (14 if split == "train" else 6)
        assert max(len(r.text.split()) for r in v7) <= 14  # the batch is about short messages


V8_CRISIS = {"long_crisis", "followup_crisis", "short_crisis_nocue", "mixed_crisis", "safe_claim_crisis"}
V8_OTHER = {"long_everyday", "risk_words_ok", "resolved_past", "safe_distress", "mixed_ok"}


def test_batch_v8_hard_cases_cover_both_sides_in_every_split():
    for split in ("train", "validation", "test"):
        v8 = [r for r in load_crisis(split=split) if r.batch == "v8"]
        assert {r.kind for r in v8 if r.crisis} == V8_CRISIS
        assert {r.kind for r in v8 if not r.crisis} == V8_OTHER
        for kind in V8_CRISIS | V8_OTHER:
            assert sum(r.kind == kind for r in v8) >= (15 if split == "train" else 7)


V9_CRISIS = {"long_crisis", "mixed_crisis", "harm_others", "short_followup", "passive_indirect"}
V9_OTHER = {"long_everyday", "everyday_distress", "resolved_past", "risk_words_ok", "slang_hyperbole",
            "topic_third_ok"}
V10_CRISIS = {"short_followup", "distress_with_risk", "slang_crisis", "mixed_crisis"}
V10_OTHER = {"everyday_distress", "slang_hyperbole", "risk_words_ok", "safe_after_hard"}
V11_CRISIS = {"long_hidden_crisis", "short_followup", "method_seeking", "overdose_or_starving_now",
              "hedged_preparation", "slang_crisis"}
V11_OTHER = {"long_everyday", "slang_hyperbole", "risk_words_ok", "safe_after_hard",
             "professional_question", "everyday_distress"}


@pytest.mark.parametrize("batch, crisis_kinds, other_kinds", [
    ("v9", V9_CRISIS, V9_OTHER), ("v10", V10_CRISIS, V10_OTHER), ("v11", V11_CRISIS, V11_OTHER),
    ("v12", V11_CRISIS, V11_OTHER)])  # v12: v11's kinds, written afresh
def test_batch_keeps_both_sides_of_every_kind_in_every_split_and_half_for_a_fresh_test(
        batch, crisis_kinds, other_kinds):
    counts = {split: [r for r in load_crisis(split=split) if r.batch == batch]
              for split in ("train", "validation", "test")}
    for rows in counts.values():
        assert {r.kind for r in rows if r.crisis} == crisis_kinds
        assert {r.kind for r in rows if not r.crisis} == other_kinds
    for kind in crisis_kinds | other_kinds:
        n_test = sum(r.kind == kind for r in counts["test"])
        assert n_test >= 15 and n_test > sum(r.kind == kind for r in counts["train"])
