"""Sticky A/B routing: a session id always maps to the same variant.

Method: weighted rendezvous hashing (highest random weight, logarithmic form). For each variant
v, u_v = HMAC-SHA256(key, v.name + session_id) read as a number in (0, 1), and the session goes
to the variant with the largest score  weight_v / -ln(u_v).  -ln(u)/w is an exponential variable
with rate w, so the variant with the smallest one wins with probability w_v / sum(w): the split
follows the weights. Sticky: the score depends only on (key, variant, session). Minimal
movement: a session's scores for untouched variants never change, so raising variant A's
weight only moves sessions *into* A, lowering it only moves sessions *out of* A, and adding
or removing a variant only moves sessions to/from that variant. With two variants the moved
share equals the change in weight share, the least any scheme can move.
The hash is keyed so that users cannot pick a session id to choose their variant; changing the
key re-randomises every assignment (a new experiment).
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from pipeline_lib.errors import ConfigError

_SCALE = float(2**64)


@dataclass(frozen=True)
class Variant:
    name: str  # the metric label and the recorded variant
    model_name: str  # the ensemble that serves it
    model_version: str = ""  # "" = the version policy's latest
    weight: float = 1.0

    @classmethod
    def from_mapping(cls, data: Mapping) -> Variant:
        try:
            return cls(
                name=str(data["name"]),
                model_name=str(data["model_name"]),
                model_version=str(data.get("model_version", "") or ""),
                weight=float(data.get("weight", 1.0)),
            )
        except KeyError as exc:
            raise ConfigError(
                f"client.ab.variants entry {dict(data)} lacks {exc}; each variant needs "
                "name, model_name and (optionally) model_version and weight"
            ) from exc


class VariantRouter:
    """Assigns session ids to variants, sticky and in proportion to the weights."""

    def __init__(self, variants: Sequence[Variant], *, hash_key: str | bytes):
        if not variants:
            raise ConfigError("client.ab.variants is empty: declare at least one variant")
        names = [v.name for v in variants]
        if len(set(names)) != len(names):
            raise ConfigError(f"client.ab.variants has duplicate names: {names}")
        if any(v.weight < 0 or not math.isfinite(v.weight) for v in variants):
            raise ConfigError("client.ab.variants weights must be finite and >= 0")
        if not any(v.weight > 0 for v in variants):
            raise ConfigError("client.ab.variants: at least one weight must be > 0")
        self.variants = tuple(variants)
        self._key = hash_key.encode() if isinstance(hash_key, str) else hash_key

    @property
    def shares(self) -> dict[str, float]:
        """Each variant's expected share of sessions."""
        total = sum(v.weight for v in self.variants)
        return {v.name: v.weight / total for v in self.variants}

    def _uniform(self, variant: Variant, session_id: str) -> float:
        digest = hmac.new(
            self._key, f"{variant.name}\x00{session_id}".encode(), hashlib.sha256
        ).digest()
        # +0.5 keeps u strictly inside (0, 1) so -ln(u) is finite and positive.
        return (int.from_bytes(digest[:8], "big") + 0.5) / _SCALE

    def assign(self, session_id: str) -> Variant:
        if len(self.variants) == 1:
            return self.variants[0]
        best, best_score = self.variants[0], -1.0
        for variant in self.variants:
            if variant.weight <= 0:
                continue
            score = variant.weight / -math.log(self._uniform(variant, session_id))
            if score > best_score:
                best, best_score = variant, score
        return best

    def by_name(self, name: str) -> Variant:
        for variant in self.variants:
            if variant.name == name:
                return variant
        known = [v.name for v in self.variants]
        raise ConfigError(f"no A/B variant named {name!r}; known: {known}")

    def split(self, session_ids: Iterable[str]) -> dict[str, int]:
        """How many of `session_ids` go to each variant (for reports and tests)."""
        counts = {v.name: 0 for v in self.variants}
        for session_id in session_ids:
            counts[self.assign(session_id).name] += 1
        return counts
