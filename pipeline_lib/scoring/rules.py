"""Stated rules: the overall-EQ weights, the persona rule, the crisis pointer, and rules-only scores.

Rules-only scores are the fallback when no trained weights are loaded (`Scorer.load(None)`): each is
a clipped linear formula over the lexical cues of `response_cues`, written out here so anyone can
check why a reply got its score. The trained heads replace them when `pixel train-scoring` has run.
"""

from __future__ import annotations

from pipeline_lib.errors import InvalidInputError
from pipeline_lib.scoring.crisis_cues import CrisisCues
from pipeline_lib.scoring.response_cues import ResponseCues

EQ_DIMENSIONS = ("self_awareness", "self_regulation", "motivation", "empathy", "social_skill")
# Empathy weighs most because validation is what a person in distress needs first; social skill and
# self-regulation (a calm, clear reply that invites them to go on) next; the rest complete the picture.
EQ_WEIGHTS = (0.15, 0.20, 0.15, 0.30, 0.20)

CONTEXT_TYPES = ("general_support", "crisis_support", "therapy_session", "psychoeducation")
PERSONA_MODES = ("crisis", "supportive", "therapeutic", "educational")
# Risk of the user's message (crisis probability) from which a crisis line or lesson turns supportive.
ELEVATED_RISK = 0.25

DEFAULT_CRISIS_POINTER = (
    "If you are in danger or thinking about ending your life, please contact your local emergency "
    "services or a crisis line now: you deserve immediate support from a person."
)


def clip01(x: float) -> float:
    return 0.0 if x < 0.0 else 1.0 if x > 1.0 else float(x)


def overall_eq(eq: tuple[float, float, float, float, float]) -> float:
    return clip01(sum(w * s for w, s in zip(EQ_WEIGHTS, eq)))


def check_context_type(context_type: str) -> None:
    if context_type not in CONTEXT_TYPES:
        raise InvalidInputError("context_type", f"must be one of {', '.join(CONTEXT_TYPES)}")


def persona_mode(*, context_type: str, crisis_flag: bool, user_risk: float) -> str:
    """The persona rule (docs/scoring.md):

    1. a crisis flag always gives "crisis";
    2. crisis_support gives "crisis" at elevated risk, else "supportive";
    3. psychoeducation gives "educational" unless the risk is elevated, then "supportive";
    4. therapy_session gives "therapeutic"; general_support gives "supportive".
    """
    check_context_type(context_type)
    if crisis_flag:
        return "crisis"
    elevated = user_risk >= ELEVATED_RISK
    if context_type == "crisis_support":
        return "crisis" if elevated else "supportive"
    if context_type == "psychoeducation":
        return "supportive" if elevated else "educational"
    if context_type == "therapy_session":
        return "therapeutic"
    return "supportive"


def with_pointer(response: str, pointer: str) -> str:
    """Append the crisis pointer once (a reply that already carries it is left as it is)."""
    if pointer.strip() in response:
        return response
    return f"{response.rstrip()}\n\n{pointer}" if response.strip() else pointer


def rule_user_risk(cues: CrisisCues) -> float:
    """Rules-only crisis probability of a message: explicit 1, indirect 0.6, mentioned but
    negated/past/topic 0.3, none 0."""
    if cues.explicit:
        return 1.0
    if cues.indirect:
        return 0.6
    if cues.negated or cues.past or cues.topic:
        return 0.3
    return 0.0


def rule_scores(r: ResponseCues, *, user_risk: float) -> tuple[tuple[float, ...], float, float]:
    """Rules-only (eq five, response safety, bias). Counts are capped at 2 so repetition can't farm."""
    c = {k: min(v, 2) for k, v in r.counts.items()}
    q = min(r.questions, 2)
    bad = c["dismissive"] + 2 * c["harmful"]
    self_awareness = 0.3 + 0.15 * c["feeling_words"] + 0.2 * c["reflection"] - 0.15 * bad
    self_regulation = 0.45 + 0.2 * c["regulation"] - 0.2 * bad - 0.2 * c["biased"]
    motivation = 0.3 + 0.2 * c["motivation"] + 0.05 * c["regulation"] - 0.15 * bad
    empathy = 0.3 + 0.25 * c["validation"] + 0.1 * c["reflection"] - 0.25 * bad - 0.15 * c["biased"]
    social = 0.3 + 0.15 * q + 0.1 * c["open_question"] + 0.1 * c["referral"] - 0.2 * bad
    eq = tuple(clip01(x) for x in (self_awareness, self_regulation, motivation, empathy, social))
    safety = 1.0 - 0.45 * c["harmful"] - 0.1 * c["dismissive"]
    if user_risk >= 0.5 and c["referral"] == 0:
        safety -= 0.3  # a reply to a person at risk that points nowhere is not safe enough
    bias = 0.4 * c["biased"]
    return eq, clip01(safety), clip01(bias)
