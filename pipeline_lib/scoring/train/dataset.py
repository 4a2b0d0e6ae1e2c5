"""The labelled set in data/scoring: crisis messages and (message, reply) pairs, split once, fixed.

Files (labelling guide: data/scoring/README.md):
- crisis_messages.tsv: id, split, crisis (0/1), kind, batch, text
- reply_pairs.jsonl: one message per line (group, split, batch, message) with its replies; each
  reply has style, eq (five 0-4 ratings), safety (0 unsafe .. 2 safe), bias (0 none .. 2 clear), text.
The split column was drawn once (seeded, stratified by label and kind for messages, by message for
pairs, so no message's replies straddle the split) and is never recomputed. `batch` says when a row
was written (v1: the first set; v2: added later, its split drawn once on its own rows; see
data/scoring/README.md), so eval can report each batch apart.
- crisis_validation.tsv: same columns, split "validation", batches v3 and v5: written after the
  lexicon was frozen; used only to choose the crisis classifier's hyper-parameters, rule and
  threshold (never to write lexicon entries, never as training data). It is its own file so that
  the train/test file and its split stay exactly as they were drawn.
- crisis_v6.tsv: same columns, batch v6 (2026-12-02): the issue-15 categories (long messages with
  one crisis sentence, method-seeking, overdose now, hedged preparation; clinicians, resolved past,
  slang, harmless risk words, safe distress, long everyday), written blind, split once into all three
  splits by its build script (data/scoring/v6/build.py).
- crisis_v7.tsv: same columns, batch v7 (2026-12-02): short conversational messages (everyday
  replies of a multi-turn conversation; short crises), written blind, split once the same way
  (data/scoring/v7/build.py).
- crisis_v8.tsv: same columns, batch v8 (2026-12-02): hard cases of the categories still missed
  (long everyday messages, harmless risk words, resolved past, safe distress, jokes and fiction;
  long crises, follow-ups, terse crises without a cue, wrapped crises, "I'm safe" with a plan),
  written blind, split once the same way (data/scoring/v8/build.py).
- crisis_v9.tsv: same columns, batch v9 (2026-12-03): both sides of the categories the v8 round
  still missed, written blind, split a quarter / a quarter / half (a fresh test part)
  (data/scoring/v9/build.py).
- crisis_v10.tsv: same columns, batch v10 (2026-12-03): everyday distress, slang and hyperbole,
  harmless risk words and safe-after-hard messages; short follow-ups, distress with a risk, slang
  crises and mixed messages; written blind, split a quarter / a quarter / half
  (data/scoring/v10/build.py).
- crisis_v11.tsv: same columns, batch v11 (2026-12-03): long everyday messages, slang and hyperbole,
  harmless risk words, safe after a hard moment, professionals' questions, everyday distress; crises
  hidden in long messages, short follow-ups, method seeking, an overdose or starving now, hedged
  preparation, slang crises; written blind, split a quarter / a quarter / half
  (data/scoring/v11/build.py).
- crisis_v12.tsv: same columns, batch v12 (2026-12-03): the twelve kinds of v11 written afresh by
  another blind writer, split a quarter / a quarter / half (data/scoring/v12/build.py).
- crisis_train_extra.tsv: same columns, split "train" only: batches v4 and v5, more training messages
  written on 2026-11-30 (hard cases of every kind) and checked for near-duplicates against every
  other split before they were committed (v5's other third went to the validation file). Train-only
  by construction, so the test split is still exactly the one drawn for v1/v2.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from pipeline_lib.checkpoints import project_root
from pipeline_lib.errors import PixelError

SPLITS = ("train", "test")
VALIDATION = "validation"
TRAIN_ONLY_FILE = "crisis_train_extra.tsv"
# Batches v6-v12: all three splits each, drawn once when the batch was written.
BATCH_FILES = ("crisis_v6.tsv", "crisis_v7.tsv", "crisis_v8.tsv", "crisis_v9.tsv", "crisis_v10.tsv",
               "crisis_v11.tsv", "crisis_v12.tsv")
CRISIS_FILES = ("crisis_messages.tsv", "reply_pairs.jsonl", "crisis_validation.tsv", TRAIN_ONLY_FILE,
                *BATCH_FILES)


class DatasetError(PixelError):
    """The labelled set is missing or malformed; the message names the file and line."""


def data_dir() -> Path:
    return project_root() / "data" / "scoring"


@dataclass(frozen=True)
class CrisisExample:
    id: str
    split: str
    crisis: int
    kind: str
    text: str
    batch: str = "v1"


@dataclass(frozen=True)
class ReplyExample:
    group: str
    split: str
    message: str
    style: str
    eq: tuple[float, float, float, float, float]  # rater scale / 4, in [0, 1]
    safety: float  # rater scale / 2, 1 = safe
    bias: float  # rater scale / 2, 0 = none
    text: str
    batch: str = "v1"


def load_crisis(directory: Path | None = None, *, split: str | None = None) -> list[CrisisExample]:
    """Messages of one split; split None gives train + test (crisis_messages.tsv and the train-only
    crisis_train_extra.tsv), "validation" reads crisis_validation.tsv."""
    d = directory or data_dir()
    if split == VALIDATION:
        out = _read_crisis(d / "crisis_validation.tsv", (VALIDATION,), split)
    else:
        out = _read_crisis(d / "crisis_messages.tsv", SPLITS, split)
        if split in (None, "train") and (d / TRAIN_ONLY_FILE).is_file():  # optional in a --data folder
            out += _read_crisis(d / TRAIN_ONLY_FILE, ("train",), split)
    for name in BATCH_FILES:
        if (d / name).is_file():
            out += [m for m in _read_crisis(d / name, (*SPLITS, VALIDATION), split)
                    if split is not None or m.split != VALIDATION]
    return out


def _read_crisis(path: Path, allowed: tuple[str, ...], split: str | None) -> list[CrisisExample]:
    if not path.is_file():
        raise DatasetError(f"{path} not found: the labelled set ships in the repository (data/scoring)")
    out = []
    with path.open(newline="", encoding="utf-8") as f:
        for line_no, row in enumerate(csv.DictReader(f, delimiter="\t"), start=2):
            if row.get("split") not in allowed or row.get("crisis") not in ("0", "1") or not row.get("text"):
                raise DatasetError(
                    f"{path}:{line_no}: needs split {'/'.join(allowed)}, crisis 0/1 and text"
                )
            ex = CrisisExample(row["id"], row["split"], int(row["crisis"]), row["kind"], row["text"],
                               row.get("batch") or "v1")
            if split is None or ex.split == split:
                out.append(ex)
    return out


def load_pairs(directory: Path | None = None, *, split: str | None = None) -> list[ReplyExample]:
    path = (directory or data_dir()) / "reply_pairs.jsonl"
    if not path.is_file():
        raise DatasetError(f"{path} not found: the labelled set ships in the repository (data/scoring)")
    out = []
    for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            if obj["split"] not in SPLITS:
                raise ValueError("split must be train or test")
            for r in obj["replies"]:
                eq = tuple(int(x) / 4 for x in r["eq"])
                if len(eq) != 5 or not all(0 <= x <= 1 for x in eq):
                    raise ValueError("eq needs five ratings 0-4")
                if r["safety"] not in (0, 1, 2) or r["bias"] not in (0, 1, 2):
                    raise ValueError("safety and bias are 0, 1 or 2")
                ex = ReplyExample(
                    obj["group"], obj["split"], obj["message"], r["style"], eq,  # type: ignore[arg-type]
                    r["safety"] / 2, r["bias"] / 2, r["text"], obj.get("batch", "v1"),
                )
                if split is None or ex.split == split:
                    out.append(ex)
        except (KeyError, ValueError, TypeError) as exc:
            raise DatasetError(f"{path}:{line_no}: {exc}") from exc
    return out


def dataset_digest(directory: Path | None = None) -> str:
    """sha256 of the labelled files, recorded with trained weights so eval can tell what they saw."""
    d = directory or data_dir()
    h = hashlib.sha256()
    for name in CRISIS_FILES:
        if (d / name).is_file():  # a --data folder may hold no validation file (selection then fails)
            h.update((d / name).read_bytes())
    return h.hexdigest()


def validation_digest(directory: Path | None = None) -> str:
    """sha256 of the validation rows (text and label, in file order): the split selection used."""
    h = hashlib.sha256()
    for m in load_crisis(directory, split=VALIDATION):
        h.update(f"{m.id}\t{m.crisis}\t{m.text}\n".encode())
    return h.hexdigest()
