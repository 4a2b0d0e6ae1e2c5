"""Scoring throughput: (message, reply) pairs per second through `Scorer.score_batch`, batches of 8.

One thread pinned to one core (the scorer shares the CPU with the LM in production), best of 3 runs
over the train reply pairs; also a long-message figure (messages of ~4,000 characters, the case that
is split into windows). Run: .venv/bin/python benchmarks/scoring_throughput.py [--model-dir DIR]
"""

from __future__ import annotations

import argparse
import os
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model-dir", default=None)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.sched_setaffinity(0, {0})
    import torch

    torch.set_num_threads(1)
    from pipeline_lib.checkpoints import state_dir
    from pipeline_lib.scoring import Scorer
    from pipeline_lib.scoring.train.dataset import load_pairs

    pairs = load_pairs(split="train")
    scorer = Scorer.load(args.model_dir or state_dir() / "scoring")
    users, replies = [p.message for p in pairs], [p.text for p in pairs]
    long_users = [" ".join([u] * 40)[:4000] for u in users[:24]]

    def rate(us, rs) -> float:
        best = 0.0
        for _ in range(args.rounds):
            start = time.perf_counter()
            for i in range(0, len(us), 8):
                scorer.score_batch(user_texts=us[i:i + 8], responses=rs[i:i + 8],
                                   context_types=["general_support"] * len(us[i:i + 8]))
            best = max(best, len(us) / (time.perf_counter() - start))
        return best

    print(f"pairs/s (train pairs, {len(users)}): {rate(users, replies):.1f}")
    print(f"pairs/s (4,000-character messages, 24): {rate(long_users, replies[:24]):.2f}")


if __name__ == "__main__":
    main()
