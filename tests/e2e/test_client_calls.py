"""PixelClient against a real tritonserver: protocols agree, order, per-item errors, no retry
of invalid input, and /metrics without request text."""

import json
import urllib.request
import uuid

import pytest

from pipeline_lib.client import (
    ClientSettings,
    InferRequest,
    InvalidRequestError,
    PixelClient,
    load_client_settings,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TEXTS = [
    "I've been feeling anxious about work and can't sleep.",
    "Can you explain what a panic attack is?",
]


def settings_for(server, protocol: str, *extra: str) -> ClientSettings:
    return load_client_settings([
        f"client.protocol={protocol}",
        f"client.grpc_url={server.grpc_url}",
        f"client.http_url={server.http_url}",
        "client.timeout_s=120",
        "client.cache.backend=none",
        *extra,
    ])


def counter(body: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text (0 when absent)."""
    for line in body.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_grpc_and_http_agree_and_batches_keep_order_with_item_errors(triton_server):
    session = f"e2e-{uuid.uuid4().hex}"
    async with PixelClient(settings_for(triton_server, "grpc")) as grpc_client, \
            PixelClient(settings_for(triton_server, "http")) as http_client:
        requests = [
            InferRequest(TEXTS[0], session, "general_support"),
            InferRequest("", session, "general_support"),  # refused by the server
            InferRequest(TEXTS[1], session, "psychoeducation"),
        ]
        by_grpc = await grpc_client.batch_infer(requests, concurrency=2)
        by_http = await http_client.batch_infer(requests, concurrency=2)
    for outcomes in (by_grpc, by_http):
        assert [o.index for o in outcomes] == [0, 1, 2]
        assert [o.ok for o in outcomes] == [True, False, True]
        assert isinstance(outcomes[1].error, InvalidRequestError)
        assert outcomes[1].error.field == "text", str(outcomes[1].error)
        assert [o.result.context_type for o in (outcomes[0], outcomes[2])] == [
            "general_support", "psychoeducation"]
    for g, h in ((by_grpc[0].result, by_http[0].result), (by_grpc[2].result, by_http[2].result)):
        # Greedy decoding: the same request gives the same answer whichever protocol carries it.
        assert g.response_text == h.response_text and g.response_text
        assert g.eq_scores == pytest.approx(h.eq_scores, abs=1e-5)
        assert len(g.eq_scores) == 5
        assert (g.persona_mode, g.crisis_flag) == (h.persona_mode, h.crisis_flag)
        assert g.overall_eq == pytest.approx(h.overall_eq, abs=1e-5)
        assert g.safety_score == pytest.approx(h.safety_score, abs=1e-5)
        assert g.bias_score == pytest.approx(h.bias_score, abs=1e-5)
        assert g.server_time_ms > 0 and g.latency_ms > 0
        assert g.variant == h.variant == "control" and not g.cache_hit


async def test_invalid_input_is_refused_once_and_metrics_hold_no_request_text(triton_server):
    secret_session = f"e2e-secret-{uuid.uuid4().hex}"
    marker = "Quetzalcoatl-7719"  # a word that would stand out in the exposition
    settings = settings_for(triton_server, "grpc", "client.metrics.enabled=true",
                            "client.metrics.port=0")
    async with PixelClient(settings) as client:
        with pytest.raises(InvalidRequestError) as info:
            await client.infer("   ", secret_session, "general_support")
        assert info.value.field == "text" and "retrying" in str(info.value)
        result = await client.infer(f"My cat {marker} died and I feel low.", secret_session,
                                    "therapy_session")
        assert result.response_text
        port = client.metrics_port
        url = f"http://127.0.0.1:{port}/metrics"
        body = urllib.request.urlopen(url, timeout=10).read().decode()
    # Two calls, two attempts: the refused one was not retried.
    assert counter(body, "pixel_client_attempts_total", variant="control") == 2.0
    assert counter(body, "pixel_client_retries_total") == 0.0
    assert counter(body, "pixel_client_errors_total", kind="invalid_input") == 1.0
    assert counter(body, "pixel_client_requests_total", outcome="ok",
                   context_type="therapy_session") == 1.0
    assert "pixel_client_request_latency_seconds_bucket" in body
    assert marker not in body and "cat" not in body and secret_session not in body


async def test_health_reports_every_model_ready(triton_server):
    async with PixelClient(settings_for(triton_server, "grpc")) as client:
        report = await client.health()
    assert report.live and report.ready and report.healthy, report
    assert report.models["pixel"] is True
    assert len(report.models) >= 4  # the ensemble and its composing models


def test_cli_ask_and_health(triton_server, capsys):
    from pipeline_lib.cli import main

    assert main(["health", "--url", triton_server.grpc_url]) == 0
    out = capsys.readouterr().out
    assert "healthy" in out and "pixel" in out
    code = main(["ask", TEXTS[0], "--session", "cli-e2e", "--context", "general_support",
                 "--protocol", "http", "--url", triton_server.http_url, "--json"])
    assert code == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["response_text"] and set(answer["eq"]) == {
        "self_awareness", "self_regulation", "motivation", "empathy", "social_skill"}
    assert answer["variant"] == "control" and isinstance(answer["crisis_flag"], bool)
    assert main(["health", "--url", "127.0.0.1:1"]) == 1
