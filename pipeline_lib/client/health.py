"""PixelClient.health(): is the server live and ready, is every model ready, and does each A/B
variant answer a one-token request? On Triton 2.51 a model whose Python stub died still says
"ready"; only a request shows it. The probe's text is fixed, never a user's."""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass, field

from pipeline_lib.client.ab import Variant
from pipeline_lib.client.errors import classify
from pipeline_lib.client.request import GenerationOptions
from pipeline_lib.client.result import encode_inputs
from pipeline_lib.contract import ADMIN_KEY_ENV, admin_headers
from pipeline_lib.model_probe import PROBE_CONTEXT, PROBE_SESSION, PROBE_TEXT

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HealthReport:
    url: str
    live: bool
    ready: bool
    models: dict[str, bool]  # every model in the repository (and every variant's) -> ready
    error: str | None = None  # why the server could not be asked, if it could not
    probes: dict[str, str | None] = field(default_factory=dict)  # model -> None (answered) or why not

    @property
    def healthy(self) -> bool:
        return (self.live and self.ready and bool(self.models) and all(self.models.values())
                and not any(self.probes.values()) and self.error is None)


async def check_health(client, *, probe: bool = True) -> HealthReport:
    """Server liveness, readiness, each model's readiness and (with `probe`) one tiny real
    inference per A/B variant: on Triton 2.51 a model whose Python stub died stays "ready",
    only a request shows it. Never raises for a down server."""
    t = client.settings.health_timeout_s
    try:
        async with asyncio.timeout(t * 3):
            live = await client.transport.server_live(t)
            ready = await client.transport.server_ready(t)
            names = {v.model_name for v in client.router.variants}
            try:  # an admin API: listed with TRITON_ADMIN_KEY, else the variants only
                key = os.environ.get(ADMIN_KEY_ENV)
                headers = admin_headers(key, protocol=client.settings.protocol) if key else None
                names |= {m["name"] for m in await client.transport.model_index(t, headers)
                          if "name" in m}
            except Exception:  # noqa: BLE001 -- refused without the key
                log.debug("model index refused (restricted); checking the variants only")
            models = {}
            for name in sorted(names):
                version = next((v.model_version for v in client.router.variants
                                if v.model_name == name), "")
                models[name] = await client.transport.model_ready(name, version, t)
    except Exception as exc:  # noqa: BLE001 -- a health probe reports, it does not raise
        error = classify(exc, url=client.url) if not isinstance(exc, TimeoutError) else None
        detail = str(error) if error else f"no answer within {t * 3:.0f}s"
        return HealthReport(client.url, False, False, {}, detail)
    probes = ({v.model_name: await _probe(client, v, t) for v in client.router.variants}
              if probe and live else {})
    backed_up = None
    if client.recorder is not None and not getattr(client.recorder, "accepting", True):
        backed_up = "outcome spool at its cap (fail_closed): new calls refused until it drains"
    return HealthReport(client.url, live, ready, models, error=backed_up, probes=probes)

async def _probe(client, variant: Variant, timeout_s: float) -> str | None:
    """None when `variant` answered a one-token request in time, else why not."""
    inputs = encode_inputs(text=PROBE_TEXT, session_id=PROBE_SESSION,
                           context_type=PROBE_CONTEXT)
    one_token = GenerationOptions(max_new_tokens=1).tensors()
    for generation in (one_token, {}):  # the run-to-completion ensemble takes no options
        try:
            async with asyncio.timeout(timeout_s):
                await client.transport.infer(
                    model_name=variant.model_name, model_version=variant.model_version,
                    inputs={**inputs, **generation}, request_id="health-probe",
                    timeout_s=timeout_s)
            return None
        except TimeoutError:
            return f"no answer within {timeout_s:.0f}s"
        except Exception as exc:  # noqa: BLE001 -- reported, not raised
            error = classify(exc, url=client.url)
            if error.kind == "overloaded":
                return None  # it runs; it is busy
            if getattr(error, "field", None) == "max_new_tokens" and generation:
                continue
            return str(error)
    return "refused the probe"
