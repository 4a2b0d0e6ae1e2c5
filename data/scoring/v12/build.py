"""Build data/scoring/crisis_v12.tsv from the hand-written sources in this folder (issue 15).

Batch v12, written blind on 2026-12-03 to every earlier batch, the lexicon and the tests (README.md
here), for the categories where the scorer was weakest: long everyday messages, slang and
hyperbole, harmless risk words, safety after a hard moment, professionals' questions, everyday
distress (label 0); a crisis hidden in a long everyday message, short follow-ups, method seeking,
an overdose or starving now, hedged preparation, crisis in slang (label 1).
Run: python3 data/scoring/v12/build.py
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from build_batch import build  # noqa: E402

KINDS = {"long_everyday": 0, "slang_hyperbole": 0, "risk_words_ok": 0, "safe_after_hard": 0,
         "professional_question": 0, "everyday_distress": 0,
         "long_hidden_crisis": 1, "short_followup": 1, "method_seeking": 1,
         "overdose_or_starving_now": 1, "hedged_preparation": 1, "slang_crisis": 1}
SEED = 20261212

if __name__ == "__main__":
    build("v12", KINDS, SEED)
