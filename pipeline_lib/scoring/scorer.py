"""The scorer the Triton `scoring` model calls: user text + reply + context type -> `Scores`.

Combination rules (docs/scoring.md):
- crisis (user message): flag when the trained classifier's probability (the fine-tuned encoder's
  logit blended with the linear head's, weights chosen on validation) reaches the
  threshold chosen on the validation split for recall, or (rule "cue_or_classifier", if the
  validation split chose it) when an explicit cue fires (un-negated, current, not an idiom); rules
  only: any explicit or indirect cue. A reply that encourages self-harm raises the flag too and has
  safety 0.
- safety: the reply's safety times (1 - user_risk / 2): a reply cannot make a crisis safe.
- persona: `rules.persona_mode`. The crisis pointer is appended to the reply whenever flagged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline_lib.errors import InvalidInputError
from pipeline_lib.scoring.crisis_cues import find_cues, without_idioms
from pipeline_lib.scoring.crisis_selection import flags_for, vetoed
from pipeline_lib.scoring.encoder import SentenceEncoder
from pipeline_lib.scoring.finetune import FineTunedCrisis
from pipeline_lib.scoring.heads import TrainedHeads, message_features, pair_features
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


@dataclass(frozen=True)
class UserRisk:
    flag: bool
    risk: float  # crisis probability in [0, 1]


class Scorer:
    def __init__(
        self,
        *,
        heads: TrainedHeads | None,
        encoder: SentenceEncoder | None,
        crisis_pointer: str = DEFAULT_CRISIS_POINTER,
        crisis_encoder: FineTunedCrisis | None = None,
    ) -> None:
        if heads is not None and encoder is None:
            raise ValueError("trained heads need the sentence encoder")
        if not crisis_pointer.strip():
            raise InvalidInputError("crisis_pointer", "must not be empty (people in crisis need it)")
        self.heads = heads
        self.encoder = encoder
        self.crisis_pointer = crisis_pointer
        if heads is not None and heads.crisis_blend > 0 and crisis_encoder is None:
            raise ValueError("these heads blend in the fine-tuned crisis encoder: pass it")
        self.crisis_encoder = crisis_encoder

    @classmethod
    def load(cls, model_dir: str | Path | None, *, crisis_pointer: str | None = None) -> "Scorer":
        """model_dir: where `pixel train-scoring` wrote its weights; None gives rules only."""
        pointer = DEFAULT_CRISIS_POINTER if crisis_pointer is None else crisis_pointer
        if model_dir is None:
            log.info("scoring with rules only (no trained heads given)")
            return cls(heads=None, encoder=None, crisis_pointer=pointer)
        heads = TrainedHeads.load(Path(model_dir))
        tuned = FineTunedCrisis.load(Path(model_dir)) if heads.crisis_blend > 0 else None
        return cls(heads=heads, encoder=SentenceEncoder.load(), crisis_pointer=pointer,
                   crisis_encoder=tuned)

    @property
    def trained(self) -> bool:
        return self.heads is not None

    def user_risk(self, user_texts: list[str]) -> list[UserRisk]:
        """Crisis decision for user messages alone (also what `pixel eval-scoring` measures)."""
        return self._assess(user_texts, [find_cues(t) for t in user_texts])[0]

    def score_batch(
        self, *, user_texts: list[str], responses: list[str], context_types: list[str],
        user_risks: list[UserRisk] | None = None,
    ) -> list[Scores]:
        """`user_risks`: the assessment `user_risk` already made of these messages (the engine
        assesses before generating); reused, not recomputed."""
        n = len(user_texts)
        if len(responses) != n or len(context_types) != n:
            raise InvalidInputError(
                "responses/context_types", f"need one per user text ({n}); got "
                f"{len(responses)} responses and {len(context_types)} context types"
            )
        for ct in context_types:
            check_context_type(ct)
        if n == 0:
            return []
        msg_cues = [find_cues(t) for t in user_texts]
        resp_cues = [find_response_cues(r) for r in responses]
        if user_risks is None:
            risks, msg_emb = self._assess(user_texts, msg_cues)
        else:
            risks = list(user_risks)
            msg_emb = (None if self.heads is None else
                       self.encoder.encode([without_idioms(t) for t in user_texts]))
        if msg_emb is None:
            parts = [rule_scores(rc, user_risk=r.risk) for rc, r in zip(resp_cues, risks)]
        else:
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

    def _assess(self, user_texts, msg_cues) -> tuple[list[UserRisk], np.ndarray | None]:
        if self.heads is None:
            return [UserRisk(c.any_current, rule_user_risk(c)) for c in msg_cues], None
        blanked = [without_idioms(t) for t in user_texts]
        emb = self.encoder.encode(blanked)
        probs = self.crisis_probabilities(blanked, emb, msg_cues)
        rule = self.heads.crisis_rule
        explicit = np.array([c.explicit > 0 for c in msg_cues], dtype=bool)
        set_aside = np.array([vetoed(c) for c in msg_cues], dtype=bool)
        flags = flags_for(probs, explicit, self.heads.crisis_threshold, rule, set_aside,
                          self.heads.crisis_veto_override)
        cue_flags = rule.startswith("cue_or_classifier")
        risks = [UserRisk(bool(f), 1.0 if cue_flags and e else float(p))
                 for f, e, p in zip(flags, explicit, probs)]
        return risks, emb

    def crisis_probabilities(self, blanked: list[str], emb: np.ndarray, msg_cues) -> np.ndarray:
        """Served crisis probability: sigmoid(blend * fine-tuned logit + (1 - blend) * linear logit);
        `blanked` are the idiom-blanked user texts, `emb` their frozen-encoder embeddings."""
        x = message_features(emb, msg_cues)
        head = self.heads.heads["crisis"]
        z = (((x - head.mean) / head.scale) @ head.coef.T + head.intercept)[:, 0]
        blend = self.heads.crisis_blend
        if blend > 0:
            cue = x[:, emb.shape[1]:].astype(np.float64)
            z = blend * self.crisis_encoder.logits(blanked, cue) + (1 - blend) * z
        return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))

    def _trained_parts(self, msg_emb, responses, msg_cues, resp_cues):
        resp_emb = self.encoder.encode(responses)
        x = pair_features(msg_emb, resp_emb, msg_cues, resp_cues)
        eq = self.heads.heads["eq"].predict(x)
        safety = self.heads.heads["safety"].predict(x)[:, 0]
        bias = self.heads.heads["bias"].predict(x)[:, 0]
        return [(tuple(eq[i]), float(safety[i]), float(bias[i])) for i in range(len(responses))]
