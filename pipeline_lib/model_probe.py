"""A truthful readiness probe: a tiny real inference with a short deadline.

Why: Triton 2.51 keeps `/v2/models/<m>/ready` at 200 after a model's Python stub died, so
readiness alone routes traffic to a broken server. The probe asks the unary entry model (`pixel`)
for a one-token reply over HTTP; that request crosses the tokenizer, the LM engine and scoring, so
a dead or hung stub anywhere on the path fails it. Standard library only (the container's health
check imports it without the rest of the package). The probe's text is fixed, never a user's.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass

PROBE_TEXT = "health probe"
PROBE_SESSION = "pixel-health-probe"
PROBE_CONTEXT = "general_support"
# Answers that prove the model runs even though it did not reply: a full queue is not a fault.
BUSY_MARKERS = ("overloaded:", "exceeds maximum queue size")


@dataclass(frozen=True)
class ProbeResult:
    model: str
    ok: bool
    detail: str  # what failed, or "answered"/"busy"; never user text (there is none)


def _bytes_input(name: str, value: str) -> dict:
    return {"name": name, "shape": [1, 1], "datatype": "BYTES", "data": [value]}


def _post(url: str, body: dict, timeout_s: float, headers: dict[str, str]) -> tuple[int, dict]:
    data = json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 (local)
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read() or b"{}")
        except ValueError:
            return exc.code, {"error": exc.reason}


def _input_names(base_url: str, model: str, timeout_s: float) -> set[str]:
    with urllib.request.urlopen(f"{base_url}/v2/models/{model}", timeout=timeout_s) as resp:  # noqa: S310
        return {t["name"] for t in json.loads(resp.read()).get("inputs", [])}


def probe_model(base_url: str, model: str = "pixel", *, timeout_s: float = 10.0,
                context_type: str = PROBE_CONTEXT) -> ProbeResult:
    """One inference of `model` over Triton's HTTP API with a deadline of `timeout_s`."""
    base_url = base_url.rstrip("/")
    if "://" not in base_url:
        base_url = "http://" + base_url
    try:
        names = _input_names(base_url, model, timeout_s)
        inputs = [_bytes_input("text", PROBE_TEXT), _bytes_input("session_id", PROBE_SESSION),
                  _bytes_input("context_type", context_type)]
        if "max_new_tokens" in names:  # the engine's models: one token is enough
            inputs.append({"name": "max_new_tokens", "shape": [1, 1], "datatype": "INT32",
                           "data": [1]})
        body = {"id": "health-probe", "inputs": inputs,
                "parameters": {"timeout": int(timeout_s * 1_000_000)}}
        status, answer = _post(f"{base_url}/v2/models/{model}/infer", body, timeout_s, {})
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        return ProbeResult(model, False, f"no answer: {getattr(exc, 'reason', exc)}")
    if status == 200:
        return ProbeResult(model, True, "answered")
    error = str(answer.get("error", ""))
    if any(marker in error for marker in BUSY_MARKERS):
        return ProbeResult(model, True, "busy")
    return ProbeResult(model, False, f"HTTP {status}: {error[:300]}")
