"""How likely is the served crisis model to meet the bar on unseen text? A validation-only estimate.

Halve the validation split at random (stratified by label) many times; on one half choose the rule,
veto override and thresholds (short, long and short-without-cue messages) exactly as `pixel train-scoring` does (contract first, recall >= the
target, categories, then precision), measure recall and precision on the other half. The served
classifier and epoch stay fixed. The test split is never read.

    .venv/bin/python benchmarks/scoring_split_half.py [--model-dir .pixel/scoring] [--draws 150]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from pipeline_lib.scoring import Scorer
from pipeline_lib.scoring.assessment import message_windows
from pipeline_lib.scoring.crisis_contract import contract_texts
from pipeline_lib.scoring.train.dataset import VALIDATION, load_crisis
from pipeline_lib.scoring.crisis_policy import is_short
from pipeline_lib.scoring.train.selection import flag_messages, judge_all, message_scores

OUT = Path("benchmarks/results/scoring/split_half.md")


def _windows(scorer: Scorer, texts: list[str]) -> dict:
    probs, cues = [], []
    for text in texts:
        ws = message_windows(text)
        probs.append(np.array([scorer.assessor.window_probability(w) for w in ws]))
        cues.append([w.cues for w in ws])
    return dict(window_probs=probs, window_cues=cues,
                short=np.array([is_short(t, c) for t, c in zip(texts, cues)], dtype=bool))


def _take(d: dict, sel: np.ndarray) -> dict:
    return {k: ([v[i] for i in np.flatnonzero(sel)] if isinstance(v, list) else v[sel]) for k, v in d.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", default=".pixel/scoring")
    parser.add_argument("--draws", type=int, default=150)
    args = parser.parse_args()
    scorer = Scorer.load(Path(args.model_dir))
    val_rows = load_crisis(split=VALIDATION)
    y = np.array([m.crisis for m in val_rows])
    val = dict(_windows(scorer, [m.text for m in val_rows]), y=y,
               kinds=np.array([m.kind for m in val_rows]), batches=np.array([m.batch for m in val_rows]))
    texts, labels = contract_texts()
    contract = dict(_windows(scorer, texts), y=np.array(labels))
    rng = np.random.default_rng(0)
    recalls, precisions = [], []
    for _ in range(args.draws):
        half = np.zeros(len(y), dtype=bool)
        for label in (0, 1):
            idx = np.flatnonzero(y == label)
            half[rng.choice(idx, len(idx) // 2, replace=False)] = True
        best = max(judge_all(_take(val, half), contract), key=lambda j: j.key)
        other = _take(val, ~half)
        scores = message_scores(other["window_probs"], other["window_cues"], best.policy.rule,
                                best.policy.veto_override)
        long = np.array([len(p) > 1 for p in other["window_probs"]])
        flags = flag_messages(scores, long, other["short"], best.policy)
        recalls.append(flags[other["y"] == 1].mean())
        precisions.append(other["y"][flags].mean() if flags.any() else 0.0)
    r, q = np.array(recalls), np.array(precisions)
    both = np.mean((r >= 0.95) & (q >= 0.85))
    text = (f"# Split-half estimate on the validation split ({len(y)} messages, {args.draws} draws)\n\n"
            f"Served classifier and epoch fixed; rule, veto override and threshold chosen on one "
            f"half, measured on the other. Written by `benchmarks/scoring_split_half.py`.\n\n"
            f"| | mean | 10th percentile |\n| --- | --- | --- |\n"
            f"| recall | {r.mean():.3f} | {np.quantile(r, 0.1):.3f} |\n"
            f"| precision | {q.mean():.3f} | {np.quantile(q, 0.1):.3f} |\n\n"
            f"Draws meeting recall >= 0.95 and precision >= 0.85 on the other half: **{both:.0%}**.\n")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
