"""Hands one call's outcome to the store's recorder (an optional hook of PixelClient).

The store owns what happens to the text (encryption, HMAC of the session id); this module only
builds the plain OutcomeRecord. A recorder failure never fails the call: it is logged, without
the text.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any, Protocol

from pipeline_lib.client.ab import Variant
from pipeline_lib.client.result import PixelResult
from pipeline_lib.errors import PixelError

log = logging.getLogger(__name__)


class OutcomeRecorder(Protocol):
    async def record(self, record: Any) -> Any: ...


def build_record(
    *,
    request_id: str,
    session_id: str,
    variant: Variant,
    context_type: str,
    user_text: str,
    latency_ms: float,
    result: PixelResult | None = None,
    error_kind: str | None = None,
    partial_text: str | None = None,
    assessment: Any = None,
):
    """`partial_text` and `assessment` (a StreamDelta) stand in for a result that never came."""
    from pipeline_lib.store.records import OutcomeRecord

    def said(name: str) -> Any:
        return getattr(assessment, name, None) if result is None else getattr(result, name)

    return OutcomeRecord(
        request_id=request_id,
        session_id=session_id,
        variant=variant.name,
        model_name=variant.model_name,
        # The store wants a non-empty version; "" means "whatever the version policy serves".
        model_version=variant.model_version or "latest",
        context_type=context_type,
        user_text=user_text,
        response_text=result.response_text if result else (partial_text or None),
        eq_scores=result.eq_scores if result else None,
        overall_eq=result.overall_eq if result else None,
        safety_score=result.safety_score if result else None,
        bias_score=result.bias_score if result else None,
        persona_mode=said("persona_mode"),
        crisis_flag=said("crisis_flag"),
        server_time_ms=result.server_time_ms if result else None,
        latency_ms=latency_ms,
        cache_hit=result.cache_hit if result else False,
        error_kind=error_kind,
        created_at=datetime.now(timezone.utc),
        reply_persona=said("reply_persona"),
        crisis_reply_mode=result.crisis_reply_mode if result else None,
        finish_reason=result.finish_reason if result else None,
    )


async def record_outcome(recorder: OutcomeRecorder, **fields: Any) -> bool:
    """Build and hand over the record; False (and one log line) if that failed."""
    try:
        await recorder.record(build_record(**fields))
    except PixelError as exc:
        # The message names a field and a rule, never the text itself.
        log.warning("outcome %s not recorded: %s", fields.get("request_id"), exc)
        return False
    return True
