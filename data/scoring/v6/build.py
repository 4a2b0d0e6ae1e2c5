"""Build data/scoring/crisis_v6.tsv from the hand-written sources in this folder (run once, 2026-12-02).

Short messages: each category file is one kind; its rows are drawn once (seed 20261202) into train /
validation / test, half / quarter / quarter. Long messages are composed from hand-written everyday
paragraphs, crisis disclosures and hard-negative sentences whose pools are split FIRST, so no
sentence of a validation or test message appears in another split. Rows that are near-duplicates
(difflib ratio > 0.85 after lower-casing and dropping punctuation) of any row of any other file or
split are dropped and counted (short rows; long rows are disjoint by construction). Run: python3 data/scoring/v6/build.py
"""

import csv
import difflib
import random
import re
from pathlib import Path

HERE = Path(__file__).parent
OUT = HERE.parent / "crisis_v6.tsv"
SEED = 20261202
SHORT = {"method_seeking": 1, "overdose_now": 1, "hedged_prep": 1, "clinician": 0,
         "resolved_past": 0, "slang": 0, "risk_words": 0, "safe_distress": 0}
SPLITS = ("train", "validation", "test")
LONG_COUNTS = {"train": 40, "validation": 20, "test": 20}  # per label
MAX_CHARS = 8000


def lines(name):
    return [x.strip() for x in (HERE / name).read_text(encoding="utf-8").splitlines() if x.strip()]


def three_way(items, rng):
    items = list(items)
    rng.shuffle(items)
    a, b = len(items) // 2, len(items) // 2 + len(items) // 4
    return {"train": items[:a], "validation": items[a:b], "test": items[b:]}


def key(text):
    return re.sub(r"[^a-z0-9 ]", "", text.lower())


def compose(rng, paragraphs, insert, position):
    n = rng.randint(2, len(paragraphs))
    body = rng.sample(paragraphs, n)
    while len(" ".join(body)) > MAX_CHARS - 300:
        body.pop()
    if insert:
        if position == "start":
            body[0] = insert[0] + " " + body[0]
        elif position == "end":
            body[-1] = body[-1] + " " + insert[0]
        else:
            mid = len(body) // 2
            body[mid] = body[mid] + " " + insert[0]
        for extra in insert[1:]:  # a second hard-negative sentence lands elsewhere
            i = rng.randrange(len(body))
            body[i] = body[i] + " " + extra
    return " ".join(body)  # one line per row, so the TSV stays line-oriented


def main():
    rng = random.Random(SEED)
    rows = []
    for kind, label in SHORT.items():
        for split, texts in three_way(lines(f"{kind}.txt"), rng).items():
            rows += [(split, label, kind, t) for t in texts]
    paragraphs = three_way(lines("everyday_paragraphs.txt"), rng)
    disclosures = three_way(lines("long_disclosures.txt"), rng)
    hard = three_way(lines("long_hard_negatives.txt"), rng)
    positions = ("start", "middle", "end")
    for split in SPLITS:
        for i in range(LONG_COUNTS[split]):
            d = disclosures[split][i % len(disclosures[split])]
            rows.append((split, 1, "long_crisis", compose(rng, paragraphs[split], [d], positions[i % 3])))
            negs = rng.sample(hard[split], i % 3)  # none, one or two look-alike sentences
            rows.append((split, 0, "long_everyday", compose(rng, paragraphs[split], negs, positions[i % 3])))
    existing = []
    for name in ("crisis_messages.tsv", "crisis_validation.tsv", "crisis_train_extra.tsv"):
        with (HERE.parent / name).open(newline="", encoding="utf-8") as f:
            existing += [key(r["text"]) for r in csv.DictReader(f, delimiter="\t")]
    kept, dropped = [], 0
    for split, label, kind, text in rows:
        k = key(text)
        if kind.startswith("long_"):  # their sentences come from pools split first: disjoint by construction
            kept.append((split, label, kind, text))
            continue
        others = existing + [key(t) for s, _, _, t in kept if s != split]
        if any(difflib.SequenceMatcher(None, k, o).ratio() > 0.85 for o in others
               if abs(len(o) - len(k)) < 0.3 * max(len(k), 1)):
            dropped += 1
            continue
        kept.append((split, label, kind, text))
    with OUT.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        w.writerow(["id", "split", "crisis", "kind", "batch", "text"])
        for i, (split, label, kind, text) in enumerate(kept, start=1):
            w.writerow([f"v6-{i:04d}", split, label, kind, "v6", text])
    print(f"{len(kept)} rows written to {OUT.name}; {dropped} near-duplicates dropped")


if __name__ == "__main__":
    main()
