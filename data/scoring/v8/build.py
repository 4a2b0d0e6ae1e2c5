"""Build data/scoring/crisis_v8.tsv from the hand-written sources in this folder (run once, 2026-12-04).

Batch v8 (issue 15), written blind to every earlier batch: hard negatives (long everyday messages
with look-alike sentences, harmless risk words, resolved past crises, distress with safety stated,
jokes / lyrics / fiction / third person without risk) and hard positives (long everyday messages
with one or two disclosing sentences, short follow-ups that state a risk on their own, terse crises
without the obvious words, crises wrapped in jokes or lyrics, and "I'm fine" claims beside a plan).
Each category file is one kind, one message a line; its rows are drawn once (seed 20261204) into
train / validation / test, half / quarter / quarter. Rows that are near-duplicates (difflib ratio >
0.85 after lower-casing and dropping punctuation) of any row of any earlier file, or of a v8 row of
another split, are dropped and counted. Run: python3 data/scoring/v8/build.py
"""

import csv
import difflib
import random
import re
from collections import Counter
from pathlib import Path

HERE = Path(__file__).parent
OUT = HERE.parent / "crisis_v8.tsv"
SEED = 20261204
KINDS = {"long_everyday": 0, "risk_words_ok": 0, "resolved_past": 0, "safe_distress": 0,
         "mixed_ok": 0, "long_crisis": 1, "followup_crisis": 1, "short_crisis_nocue": 1,
         "mixed_crisis": 1, "safe_claim_crisis": 1}
OTHER_FILES = ("crisis_messages.tsv", "crisis_validation.tsv", "crisis_train_extra.tsv",
               "crisis_v6.tsv", "crisis_v7.tsv")
SPLITS = ("train", "validation", "test")


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
            dropped.append((kind, split))
            continue
        kept.append((split, label, kind, text))
    with OUT.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        w.writerow(["id", "split", "crisis", "kind", "batch", "text"])
        for i, (split, label, kind, text) in enumerate(kept, start=1):
            w.writerow([f"v8-{i:04d}", split, label, kind, "v8", text])
    n_kept, n_dropped = Counter((k, s) for s, _, k, _ in kept), Counter(dropped)
    for kind in KINDS:  # counts only: the texts of earlier batches are never shown
        cells = "  ".join(f"{s} {n_kept[kind, s]}" + (f" (-{n_dropped[kind, s]})" if n_dropped[kind, s] else "")
                          for s in SPLITS)
        print(f"{kind:20s} {cells}")
    print(f"{len(kept)} rows written to {OUT.name}; {len(dropped)} near-duplicates dropped")


if __name__ == "__main__":
    main()
