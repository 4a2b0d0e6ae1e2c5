"""Turn one blind batch's hand-written sources into `crisis_<batch>.tsv` (batches from v11 on).

A batch folder holds one `<kind>.txt` per category (one message a line) and a `build.py` that
names the kinds with their labels and a seed. Each kind's rows are drawn once with that seed into
train / validation / test, quarter / quarter / half. A row that is a near-duplicate (difflib ratio
> 0.85 after lower-casing and dropping punctuation) of any row of an earlier file, or of a row of
this batch in another split, is dropped and counted. Only counts are printed: the texts of the
earlier batches are never shown, so a batch can be written and built blind.

The builders of v6-v10 are kept as they ran, in their own folders.
"""

from __future__ import annotations

import csv
import difflib
import random
import re
from collections import Counter
from pathlib import Path

DATA = Path(__file__).resolve().parent
SPLITS = ("train", "validation", "test")
BASE_FILES = ("crisis_messages.tsv", "crisis_validation.tsv", "crisis_train_extra.tsv")


def earlier_files(batch: str) -> list[Path]:
    """The base files and every batch file older than `batch` (vN with N smaller)."""
    number = int(batch.lstrip("v"))
    batches = sorted((int(p.stem[len("crisis_v"):]), p) for p in DATA.glob("crisis_v*.tsv")
                     if p.stem[len("crisis_v"):].isdigit())
    return [DATA / n for n in BASE_FILES] + [p for n, p in batches if n < number]


def _lines(path: Path) -> list[str]:
    return [x.strip() for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def _three_way(items: list[str], rng: random.Random) -> dict[str, list[str]]:
    items = list(items)
    rng.shuffle(items)
    a, b = len(items) // 4, 2 * (len(items) // 4)  # quarter / quarter / half
    return {"train": items[:a], "validation": items[a:b], "test": items[b:]}


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9 ]", "", text.lower()).strip()


def _near(k: str, others: list[str]) -> bool:
    return any(difflib.SequenceMatcher(None, k, o).ratio() > 0.85 for o in others
               if abs(len(o) - len(k)) < 0.3 * max(len(k), 1) + 2)


def build(batch: str, kinds: dict[str, int], seed: int) -> Path:
    """Write crisis_<batch>.tsv from data/scoring/<batch>/<kind>.txt; print the counts."""
    folder, out = DATA / batch, DATA / f"crisis_{batch}.tsv"
    rng = random.Random(seed)
    rows = [(split, label, kind, text)
            for kind, label in kinds.items()
            for split, texts in _three_way(_lines(folder / f"{kind}.txt"), rng).items()
            for text in texts]
    existing = []
    for path in earlier_files(batch):
        with path.open(newline="", encoding="utf-8") as f:
            existing += [_key(r["text"]) for r in csv.DictReader(f, delimiter="\t")]
    kept, dropped = [], []
    for split, label, kind, text in rows:
        if _near(_key(text), existing + [_key(t) for s, _, _, t in kept if s != split]):
            dropped.append((kind, split))
        else:
            kept.append((split, label, kind, text))
    with out.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        w.writerow(["id", "split", "crisis", "kind", "batch", "text"])
        for i, (split, label, kind, text) in enumerate(kept, start=1):
            w.writerow([f"{batch}-{i:04d}", split, label, kind, batch, text])
    n_kept, n_dropped = Counter((k, s) for s, _, k, _ in kept), Counter(dropped)
    for kind in kinds:
        cells = "  ".join(f"{s} {n_kept[kind, s]}" + (f" (-{n_dropped[kind, s]})" if n_dropped[kind, s] else "")
                          for s in SPLITS)
        print(f"{kind:26s} {cells}")
    print(f"{len(kept)} rows written to {out.name}; {len(dropped)} near-duplicates dropped")
    return out
