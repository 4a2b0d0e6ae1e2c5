"""High-recall crisis cues: a lexicon of patterns with spelling, idiom, negation and tense handling.

The text is normalised (lower case, leetspeak, stretched letters), idioms that merely sound violent
("this traffic is killing me") are blanked out, and it is split into clauses. A cue found in a clause
counts as *negated* when a negator precedes it in that clause ("I'm not suicidal"), as *past* when
the clause places it in the past ("years ago I tried to end my life") without a marker of now.
Only cues that are neither count towards `explicit` / `indirect`; the rest become features that the
trained classifier weighs (see docs/scoring.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline_lib.scoring.crisis_lexicon import (
    CLAUSE_SPLIT,
    EXPLICIT,
    IDIOMS,
    INDIRECT,
    NEGATORS,
    NOW,
    PAST,
    JOKE,
    TOPIC,
)

# --- normalisation ----------------------------------------------------------------------------------

_LEET = str.maketrans({"1": "i", "3": "e", "0": "o", "@": "a", "$": "s", "!": "i", "|": "l"})
_WORD_WITH_DIGITS = re.compile(r"\b(?=\w*[a-z])(?=\w*[0-9@$!|])[\w@$!|]+")


def normalise(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    text = _WORD_WITH_DIGITS.sub(lambda m: m.group(0).translate(_LEET), text)
    text = re.sub(r"(\w)\1{2,}", r"\1", text)  # stretched letters: "diiie" -> "die"
    text = re.sub(r"\b(sewer ?slide|s\*icide|su\*cide)\b", "suicide", text)
    text = re.sub(r"\bun-?alive\b", "unalive", text)
    text = re.sub(r"\b(?:[a-z] ){3,}[a-z]\b", lambda m: m.group(0).replace(" ", ""), text)  # s u i c
    text = re.sub(r"\b(want|wanna|going|have|need|ready) 2\b", r"\1 to", text)
    text = re.sub(r"\b(gonna|gunna)\b", "going to", text)
    text = re.sub(r"\b(wanna)\b", "want to", text)
    text = re.sub(r"\b(would|could|should|did|does|do|is|are|was|were|have|has|ca|wo)nt\b", r"\1n't", text)
    text = re.sub(r"\b(cuttin|thinkin|tryin|goin|endin|killin|hurtin|burnin|dyin|livin)\b", r"\1g", text)
    text = re.sub(r"\bdnt\b", "don't", text)
    text = re.sub(r"\bbout\b", "about", text)
    text = re.sub(r"\b(im)\b", "i'm", text)
    text = re.sub(r"\b(ive)\b", "i've", text)
    return re.sub(r"\s+", " ", text).strip()


_IDIOM_RE = re.compile("|".join(f"(?:{p})" for p in IDIOMS))

_EXPLICIT_RE = {k: [re.compile(p) for p in v] for k, v in EXPLICIT.items()}
_INDIRECT_RE = [re.compile(p) for p in INDIRECT]
NEGATION_WINDOW = 6  # words before a cue in which a negator negates it


@dataclass(frozen=True)
class CrisisCues:
    """What the lexicon found in one text. Counts are over clauses."""

    explicit: int  # un-negated, current explicit cues (suicide, self-harm, harm, danger)
    indirect: int  # un-negated, current indirect cues (giving things away, goodbyes, burden)
    negated: int  # cues preceded by a negator in their clause
    past: int  # cues placed in the past without a marker of now
    idioms: int  # idioms blanked out
    topic: int  # cues in a clause about media, study or statistics
    jokes: int  # joke markers (lol, haha, jk): a feature only, they never cancel a cue
    categories: tuple[str, ...]  # categories of the explicit cues

    @property
    def any_current(self) -> bool:
        return self.explicit > 0 or self.indirect > 0

    def as_features(self) -> list[float]:
        """Fixed-order features for the classifier (capped so one long text cannot dominate)."""
        cats = set(self.categories)
        return [
            min(self.explicit, 2) / 2,
            min(self.indirect, 2) / 2,
            min(self.negated, 2) / 2,
            min(self.past, 2) / 2,
            min(self.idioms, 2) / 2,
            min(self.topic, 2) / 2,
            float("suicide" in cats or "self_harm" in cats),
            float("third_person" in cats),
            float("harm_to_others" in cats or "danger_from_others" in cats),
            float(self.jokes > 0),
        ]


N_CUE_FEATURES = 10


# "I wouldn't care if I didn't wake up", "I don't see why I should keep living": these assert.
_NOT_NEGATING = re.compile(
    r"\b(wouldn't|don't|didn't|would not|do not|won't) (care|mind)\b|\b(don't|do not) (see|know)( why)?\s*$"
)


def _negated(clause: str, start: int) -> bool:
    before = " ".join(clause[:start].split()[-NEGATION_WINDOW:])
    return NEGATORS.search(_NOT_NEGATING.sub(" ", before)) is not None


def without_idioms(text: str) -> str:
    """The normalised text with idioms blanked: what the crisis classifier embeds, so that
    "this traffic is killing me" reads as "this traffic" to it too."""
    return re.sub(r"\s+", " ", _IDIOM_RE.sub(" ", normalise(text))).strip()


def find_cues(text: str) -> CrisisCues:
    norm = normalise(text)
    norm, idioms = _IDIOM_RE.subn(" ", norm)
    explicit = indirect = negated = past = topic = 0
    categories: list[str] = []
    for clause in CLAUSE_SPLIT.split(norm):
        if not clause or not clause.strip():
            continue
        in_past = PAST.search(clause) is not None and NOW.search(clause) is None
        about_topic = TOPIC.search(clause) is not None
        hits: list[tuple[str, int]] = []
        for category, patterns in _EXPLICIT_RE.items():
            hits += [(category, m.start()) for p in patterns for m in p.finditer(clause)]
        hits += [("indirect", m.start()) for p in _INDIRECT_RE for m in p.finditer(clause)]
        for category, start in hits:
            if _negated(clause, start):
                negated += 1
            elif in_past:
                past += 1
            elif about_topic and category != "danger_from_others":
                topic += 1
            elif category == "indirect":
                indirect += 1
            else:
                explicit += 1
                categories.append(category)
    jokes = len(JOKE.findall(norm))
    return CrisisCues(
        explicit, indirect, negated, past, idioms, topic, jokes, tuple(sorted(set(categories)))
    )
