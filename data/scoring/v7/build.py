"""Build data/scoring/crisis_v7.tsv from the hand-written sources in this folder (run once, 2026-12-02).

Batch v7: short messages, the everyday replies of a multi-turn conversation (acknowledgements,
time, place and person answers, greetings, questions back) and short crises (with and without the
lexicon's words, and short follow-ups that state a risk inside a crisis conversation). Each
category file is one kind, one message a line; its rows are drawn once (seed 20261203) into train /
validation / test, half / quarter / quarter. Rows that are near-duplicates (difflib ratio > 0.85
after lower-casing and dropping punctuation) of any row of any other file, or of a v7 row of
another split, are dropped and counted. Run: python3 data/scoring/v7/build.py
"""

import csv
import difflib
import random
import re
from pathlib import Path

HERE = Path(__file__).parent
OUT = HERE.parent / "crisis_v7.tsv"
SEED = 20261203
KINDS = {"short_ack": 0, "short_time": 0, "short_place_person": 0, "small_talk": 0,
         "short_question": 0, "short_crisis": 1, "short_crisis_nolex": 1, "short_followup": 1}
OTHER_FILES = ("crisis_messages.tsv", "crisis_validation.tsv", "crisis_train_extra.tsv",
               "crisis_v6.tsv")


def lines(name):
    return [x.strip() for x in (HERE / name).read_text(encoding="utf-8").splitlines() if x.strip()]


def three_way(items, rng):
    items = list(items)
    rng.shuffle(items)
    a, b = len(items) // 2, len(items) // 2 + len(items) // 4
    return {"train": items[:a], "validation": items[a:b], "test": items[b:]}


def key(text):
    return re.sub(r"[^a-z0-9 ]", "", text.lower()).strip()


def near(k, others):
    return any(difflib.SequenceMatcher(None, k, o).ratio() > 0.85 for o in others
               if abs(len(o) - len(k)) < 0.3 * max(len(k), 1) + 2)


def main():
    rng = random.Random(SEED)
    rows = []
    for kind, label in KINDS.items():
        for split, texts in three_way(lines(f"{kind}.txt"), rng).items():
            rows += [(split, label, kind, t) for t in texts]
    existing = []
    for name in OTHER_FILES:
        with (HERE.parent / name).open(newline="", encoding="utf-8") as f:
            existing += [key(r["text"]) for r in csv.DictReader(f, delimiter="\t")]
    kept, dropped = [], []
    for split, label, kind, text in rows:
        k = key(text)
        if near(k, existing + [key(t) for s, _, _, t in kept if s != split]):
            dropped.append(kind)
            continue
        kept.append((split, label, kind, text))
    with OUT.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        w.writerow(["id", "split", "crisis", "kind", "batch", "text"])
        for i, (split, label, kind, text) in enumerate(kept, start=1):
            w.writerow([f"v7-{i:04d}", split, label, kind, "v7", text])
    by_kind = {k: dropped.count(k) for k in sorted(set(dropped))}
    print(f"{len(kept)} rows written to {OUT.name}; {len(dropped)} near-duplicates dropped {by_kind}")


if __name__ == "__main__":
    main()
