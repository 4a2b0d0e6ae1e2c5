"""`pixel ask` against a scripted transport: the streamed reply in order (crisis pointer first),
JSON lines, generation options on the wire, and --record into the embedded store."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from sqlalchemy import create_engine, text

import pipeline_lib.composition as composition
from pipeline_lib.cli import main
from pipeline_lib.client import PixelClient

POINTER = "If you are in danger, call 988 now. "
REPLY = "I'm here with you [and I'm listening]."


def s(value: str) -> np.ndarray:
    return np.array([[value.encode()]], dtype=np.object_)


def final_tensors(text: str) -> dict:
    f32 = lambda x: np.array([[x]], dtype=np.float32)  # noqa: E731
    return {"response_text": s(text), "eq_scores": np.full((1, 5), 0.5, np.float32),
            "overall_eq": f32(0.5), "safety_score": f32(0.97), "bias_score": f32(0.02),
            "persona_mode": s("calm"), "inference_time_ms": f32(300.0),
            "crisis_flag": np.array([[True]]), "reply_persona": s("crisis_support"),
            "crisis_reply_mode": s("generated"), "finish_reason": s("stop")}


STREAM = [
    {"stream_event": s("assessment"), "text_delta": s(POINTER), "crisis_flag": np.array([[True]]),
     "persona_mode": s("calm"), "reply_persona": s("crisis_support")},
    {"stream_event": s("delta"), "text_delta": s("I'm here with you ")},
    {"stream_event": s("delta"), "text_delta": s("[and I'm listening].")},
    {"stream_event": s("final"), "text_delta": s(""), **final_tensors(POINTER + REPLY)},
]


class FakeTransport:
    url = "fake:8001"
    sent: list[dict] = []

    def open_stream(self, **request):
        FakeTransport.sent.append(request)
        script = list(STREAM)

        class Call:
            async def receive(self):
                await asyncio.sleep(0)
                return script.pop(0)

            def done_writing(self):
                pass

            def cancel(self):
                pass

        return Call()

    async def infer(self, **request):
        FakeTransport.sent.append(request)
        return final_tensors(REPLY)

    async def close(self):
        pass


@pytest.fixture(autouse=True)
def scripted(monkeypatch, state):
    class ScriptedClient(PixelClient):
        def __init__(self, settings, **kwargs):
            super().__init__(settings, **{**kwargs, "cache": None})
            self._transport = FakeTransport()

    FakeTransport.sent = []
    # The composition root builds every client; `state` keeps recordings in the test's folder.
    monkeypatch.setattr(composition, "PixelClient", ScriptedClient)


def test_help_names_the_streaming_and_generation_options(capsys):
    with pytest.raises(SystemExit):
        main(["ask", "--help"])
    out = capsys.readouterr().out
    for option in ("--stream", "--max-new-tokens", "--temperature", "--top-p", "--seed",
                   "--record"):
        assert option in out, option


def test_stream_prints_the_pointer_first_then_the_reply_then_the_scores(capsys):
    assert main(["ask", "--stream", "I can't go on", "--seed", "3", "--max-new-tokens", "40"]) == 0
    out = capsys.readouterr().out
    assert out.index("crisis flag: YES") < out.index(POINTER.strip())
    assert out.index(POINTER.strip()) < out.index(REPLY) < out.index("overall EQ")
    assert "reply written as: crisis_support" in out and "finish: stop" in out
    (request,) = FakeTransport.sent
    assert request["model_name"] == "pixel_stream"
    assert request["inputs"]["seed"][0, 0] == 3 and request["inputs"]["max_new_tokens"][0, 0] == 40
    assert "temperature" not in request["inputs"]


def test_stream_json_is_one_line_per_event(capsys):
    import json

    assert main(["ask", "--stream", "--json", "hello"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["event"] for line in lines] == ["assessment", "delta", "delta", "final"]
    assert lines[0]["crisis_flag"] is True and lines[0]["text"] == POINTER
    assert lines[-1]["response_text"] == POINTER + REPLY
    assert lines[-1]["reply_persona"] == "crisis_support"


def test_unary_ask_passes_options_and_prints_brackets_verbatim(capsys):
    assert main(["ask", "hello", "--temperature", "0.7", "--top-p", "0.9"]) == 0
    out = capsys.readouterr().out
    assert "[and I'm listening]" in out  # not swallowed as rich markup
    (request,) = FakeTransport.sent
    assert request["model_name"] == "pixel"
    assert set(request["inputs"]) >= {"temperature", "top_p"} and "seed" not in request["inputs"]


def test_ask_records_one_outcome_with_its_provenance_by_default(state, capsys):
    assert main(["ask", "--stream", "I can't go on"]) == 0
    engine = create_engine(f"sqlite:///{state / 'pixel.db'}")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT r.reply_persona, r.crisis_reply_mode, r.finish_reason, "
                                 "m.error_kind FROM inference_results r JOIN inference_metrics m "
                                 "USING (request_id)")).all()
        alerts = conn.execute(text("SELECT COUNT(*) FROM crisis_alerts")).scalar()
    engine.dispose()
    assert rows == [("crisis_support", "generated", "stop", None)] and alerts == 1


def test_no_record_writes_nothing(state, capsys):
    assert main(["ask", "--no-record", "hello"]) == 0
    assert not (state / "pixel.db").exists()
