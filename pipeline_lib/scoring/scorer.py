"""The scorer the Triton `scoring` model calls: user text + reply + context type -> `Scores`.

Combination rules (docs/scoring.md):
- crisis (user message): `assessment` judges every window of the message with the fine-tuned
  classifier and the crisis policy chosen on validation (`crisis_policy`); earlier user turns, when
  given, carry a flag forward until the person says otherwise (`conversation`). Rules only: any
  explicit or indirect cue. A reply that encourages self-harm raises the flag too and has safety 0.
- safety: the reply's safety times (1 - user_risk / 2): a reply cannot make a crisis safe.
- persona: `rules.persona_mode`. The crisis pointer is appended to the reply whenever flagged.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline_lib.errors import InvalidInputError
from pipeline_lib.scoring.assessment import MessageAssessor, UserRisk
from pipeline_lib.scoring.conversation import MAX_TURNS, carried, says_safe
from pipeline_lib.scoring.crisis_cues import find_cues, without_idioms
from pipeline_lib.scoring.encoder import SentenceEncoder
from pipeline_lib.scoring.heads import TrainedHeads, pair_features
from pipeline_lib.scoring.response_cues import encourages_self_harm, find_response_cues
from pipeline_lib.scoring.rules import (
    DEFAULT_CRISIS_POINTER,
    check_context_type,
    clip01,
    overall_eq,
    persona_mode,
    rule_scores,
    rule_user_risk,
    with_pointer,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Scores:
    response_text: str  # the reply, with the crisis-line pointer appended when crisis_flag
    eq_scores: tuple[float, float, float, float, float]  # self-awareness ... social skill, [0, 1]
    overall_eq: float  # weighted mean of eq_scores (rules.EQ_WEIGHTS), [0, 1]
    safety_score: float  # 1 = safe
    bias_score: float  # 0 = unbiased
    persona_mode: str  # crisis / supportive / therapeutic / educational (rules.persona_mode)
    crisis_flag: bool


TURN_CACHE = 256  # earlier turns' assessments kept (a conversation re-sends them every turn)


class Scorer:
    def __init__(
        self,
        *,
        heads: TrainedHeads | None,
        encoder: SentenceEncoder | None,
        crisis_pointer: str = DEFAULT_CRISIS_POINTER,
    ) -> None:
        if heads is not None and encoder is None:
            raise ValueError("trained heads need the sentence encoder")
        if not crisis_pointer.strip():
            raise InvalidInputError("crisis_pointer", "must not be empty (people in crisis need it)")
        self.heads = heads
        self.encoder = encoder
        self.crisis_pointer = crisis_pointer
        self.assessor = (None if heads is None else
                         MessageAssessor(encoder=encoder, params=heads.crisis, policy=heads.policy))
        self._turns: OrderedDict[str, tuple[UserRisk, bool]] = OrderedDict()

    @classmethod
    def load(cls, model_dir: str | Path | None, *, crisis_pointer: str | None = None) -> "Scorer":
        """model_dir: where `pixel train-scoring` wrote its weights; None gives rules only."""
        pointer = DEFAULT_CRISIS_POINTER if crisis_pointer is None else crisis_pointer
        if model_dir is None:
            log.info("scoring with rules only (no trained heads given)")
            return cls(heads=None, encoder=None, crisis_pointer=pointer)
        heads = TrainedHeads.load(Path(model_dir))
        return cls(heads=heads, encoder=SentenceEncoder.load(), crisis_pointer=pointer)

    @property
    def trained(self) -> bool:
        return self.heads is not None

    def user_risk(
        self, user_texts: list[str], previous_turns: list[list[str]] | None = None
    ) -> list[UserRisk]:
        """Crisis decision for user messages; previous_turns[i]: the earlier user turns of message
        i's conversation, oldest first (None: no context). What `pixel eval-scoring` measures."""
        if previous_turns is not None and len(previous_turns) != len(user_texts):
            raise InvalidInputError("previous_turns", f"need one list per user text ({len(user_texts)})")
        risks = [self._assess(t)[0] for t in user_texts]
        if not previous_turns:
            return risks
        out = []
        for text, own, turns in zip(user_texts, risks, previous_turns):
            earlier = [self._turn(t) for t in (turns or [])[-MAX_TURNS:]]
            out.append(carried(own, earlier, says_safe(text, find_cues(text))))
        return out

    def score_batch(
        self, *, user_texts: list[str], responses: list[str], context_types: list[str],
        user_risks: list[UserRisk] | None = None,
    ) -> list[Scores]:
        """user_risks: what `user_risk` already returned for these messages (reused, not assessed
        again; the result is the same either way)."""
        n = len(user_texts)
        if len(responses) != n or len(context_types) != n:
            raise InvalidInputError(
                "responses/context_types", f"need one per user text ({n}); got "
                f"{len(responses)} responses and {len(context_types)} context types"
            )
        if user_risks is not None and len(user_risks) != n:
            raise InvalidInputError("user_risks", f"need one per user text ({n})")
        for ct in context_types:
            check_context_type(ct)
        if n == 0:
            return []
        msg_cues = [find_cues(t) for t in user_texts]
        resp_cues = [find_response_cues(r) for r in responses]
        if self.heads is None:
            risks = user_risks or [UserRisk(c.any_current, rule_user_risk(c)) for c in msg_cues]
            parts = [rule_scores(rc, user_risk=r.risk) for rc, r in zip(resp_cues, risks)]
        else:
            assessed = [self._assess(t, need_states=True, risk_known=user_risks is not None)
                        for t in user_texts]
            risks = user_risks or [a[0] for a in assessed]
            msg_emb = np.stack([self.encoder.embed_states(a[1]) for a in assessed])
            parts = self._trained_parts(msg_emb, responses, msg_cues, resp_cues)
        out = []
        for i in range(n):
            eq, reply_safety, bias = parts[i]
            endangers = encourages_self_harm(responses[i])
            flag = risks[i].flag or endangers
            if endangers:
                reply_safety = 0.0  # a reply urging self-harm is unsafe whatever a head says
            eq5 = tuple(round(clip01(x), 6) for x in eq)
            out.append(
                Scores(
                    response_text=(
                        with_pointer(responses[i], self.crisis_pointer) if flag else responses[i]
                    ),
                    eq_scores=eq5,  # type: ignore[arg-type]
                    overall_eq=round(overall_eq(eq5), 6),
                    safety_score=round(clip01(reply_safety * (1.0 - risks[i].risk / 2)), 6),
                    bias_score=round(clip01(bias), 6),
                    persona_mode=persona_mode(
                        context_type=context_types[i], crisis_flag=flag, user_risk=risks[i].risk
                    ),
                    crisis_flag=flag,
                )
            )
        return out

    def _assess(self, text: str, *, need_states: bool = False, risk_known: bool = False):
        """(risk, lower-layer states of the whole blanked message or None)."""
        if self.assessor is None:
            cues = find_cues(text)
            return UserRisk(cues.any_current, rule_user_risk(cues)), None
        risk, states = (None, None) if risk_known else self.assessor.assess(text)
        if need_states and states is None:  # long message (or risk given): encode it whole once
            states = self.encoder.lower(without_idioms(text))
        return risk, states

    def _turn(self, text: str) -> tuple[UserRisk, bool]:
        """An earlier turn's (risk, says safe), remembered: a conversation re-sends its turns."""
        if text in self._turns:
            self._turns.move_to_end(text)
            return self._turns[text]
        value = (self._assess(text)[0], says_safe(text, find_cues(text)))
        self._turns[text] = value
        if len(self._turns) > TURN_CACHE:
            self._turns.popitem(last=False)
        return value

    def _trained_parts(self, msg_emb, responses, msg_cues, resp_cues):
        resp_emb = self.encoder.encode(responses)
        x = pair_features(msg_emb, resp_emb, msg_cues, resp_cues)
        eq = self.heads.heads["eq"].predict(x)
        safety = self.heads.heads["safety"].predict(x)[:, 0]
        bias = self.heads.heads["bias"].predict(x)[:, 0]
        return [(tuple(eq[i]), float(safety[i]), float(bias[i])) for i in range(len(responses))]

