"""Turn an OutcomeRecord into its protected form: what the spool holds and the writer inserts.

Protection happens before anything touches disk: user text and response are AES-GCM encrypted (or
dropped, by policy), the session id becomes a keyed HMAC, and the alerts are decided. The result is
a JSON-ready dict, one line of the spool.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from pipeline_lib.store.alerts import alerts_for
from pipeline_lib.store.crypto import StoreKeys
from pipeline_lib.store.records import OutcomeRecord
from pipeline_lib.store.settings import StoreSettings

# 2 added reply_persona, crisis_reply_mode, finish_reason; version-1 lines (without them) still
# replay, as NULLs.
FORMAT_VERSION = 2
PROVENANCE_FIELDS = ("reply_persona", "crisis_reply_mode", "finish_reason")


def protect(record: OutcomeRecord, *, keys: StoreKeys, settings: StoreSettings) -> dict[str, Any]:
    keep_text = settings.privacy.text == "encrypted"

    def seal(text: str | None, column: str) -> str | None:
        if text is None or not keep_text:
            return None
        blob = keys.encrypt(text, request_id=record.request_id, column=column)
        return base64.b64encode(blob).decode("ascii")

    return {
        "v": FORMAT_VERSION,
        "request_id": record.request_id,
        "session_hash": keys.session_hash(record.session_id),
        "ab_test": settings.ab_test,
        "variant": record.variant,
        "model_name": record.model_name,
        "model_version": record.model_version,
        "context_type": record.context_type,
        "user_text_enc": seal(record.user_text, "user_text"),
        "response_text_enc": seal(record.response_text, "response_text"),
        "eq_scores": list(record.eq_scores) if record.eq_scores is not None else None,
        "overall_eq": record.overall_eq,
        "safety_score": record.safety_score,
        "bias_score": record.bias_score,
        "persona_mode": record.persona_mode,
        "crisis_flag": record.crisis_flag,
        "server_time_ms": record.server_time_ms,
        "latency_ms": record.latency_ms,
        "cache_hit": record.cache_hit,
        "error_kind": record.error_kind,
        "created_at": record.created_at_utc.isoformat(),
        "alerts": alerts_for(record, settings.thresholds),
        **{name: getattr(record, name) for name in PROVENANCE_FIELDS},
    }


def to_line(protected: dict[str, Any]) -> bytes:
    return json.dumps(protected, separators=(",", ":")).encode("utf-8") + b"\n"


def decode_blob(value: str | None) -> bytes | None:
    return None if value is None else base64.b64decode(value)


def created_at(protected: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(protected["created_at"])
