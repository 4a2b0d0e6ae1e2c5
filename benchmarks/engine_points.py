"""One measured point of the engine benchmark, for either server, and what it needs around it.

A point is one perf_analyzer call (closed loop at a concurrency, or Poisson arrivals at a rate)
with its profile export turned into client-side TTFT / inter-token / end-to-end percentiles
(benchmarks/stream_timing.py), and, for the engine, its Prometheus counters read around it
(generated tokens, prefix-cache savings, refusals).
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rich.console import Console

from benchmarks import perf_analyzer as pa
from benchmarks import prom
from benchmarks.engine_targets import ENGINE
from benchmarks.stream_timing import TokenCounter, point_timings, summarize
from pipeline_lib.checkpoints import state_dir

MODELS = {ENGINE: "pixel_stream"}  # the run-to-completion server's `pixel` is the ensemble
ENGINE_COUNTERS = {"generated": "pixel_engine_generated_tokens_total",
                   "engine_requests": "pixel_engine_requests_total",
                   "saved": "pixel_engine_prefill_tokens_saved_total",
                   "computed": "pixel_engine_prefill_tokens_computed_total",
                   "hits": "pixel_engine_prefix_cache_hits_total",
                   "refused": "pixel_engine_refused_total",
                   "steps": "pixel_engine_decode_steps_total"}


def engine_data(path: Path, messages: list[dict], max_new_tokens: int) -> Path:
    """The committed messages plus `max_new_tokens` (INT32 [1]) for the engine's orchestrators."""
    data = [{**{k: [v] for k, v in m.items()}, "max_new_tokens": [max_new_tokens]} for m in messages]
    path.write_text(json.dumps({"data": data}))
    return path


def rtc_overrides(overrides: list[str], console: Console) -> list[str]:
    """lm=python fixes max_new_tokens at export: reuse the default export when it has the sweep's
    value (no export run), else the perf harness's cached `bench-<n>-<dtype>` export."""
    from benchmarks.perf import exported_lm_overrides
    from pipeline_lib.config.compose import compose_config

    lm = compose_config(overrides).lm
    default = state_dir() / "exports" / "default"
    meta = default / "metadata.json"
    if meta.is_file() and (default / "model.pt").is_file():
        m = json.loads(meta.read_text())
        if m.get("max_new_tokens") == lm.max_new_tokens and m.get("dtype") == lm.dtype:
            return [f"lm.artifact_dir={default}"]
    return exported_lm_overrides(overrides, console)


def token_counter(cfg) -> TokenCounter:
    """Tokens of a text under the served model's tokenizer (no special tokens)."""
    from transformers import AutoTokenizer

    from pipeline_lib.config.repository import resolve_checkpoint

    tok = AutoTokenizer.from_pretrained(resolve_checkpoint(cfg.lm.checkpoint))

    @functools.lru_cache(maxsize=65536)
    def count(text: str) -> int:
        return len(tok(text, add_special_tokens=False)["input_ids"]) if text else 0
    return count


def _bytes(value: str) -> np.ndarray:
    return np.array([[value.encode()]], dtype=np.object_)


def prefix_tokens_mean(url: str, messages: list[dict]) -> float:
    """Mean `prefix_length` (system prompt + chat-template prefix) the served tokenizer reports for
    the committed messages: what the prefix cache should save per request."""
    import tritonclient.grpc as grpcclient

    client = grpcclient.InferenceServerClient(url)
    lengths = []
    for m in messages:
        inputs = []
        for k in ("text", "session_id", "context_type"):
            t = grpcclient.InferInput(k, [1, 1], "BYTES")
            t.set_data_from_numpy(_bytes(m[k]))
            inputs.append(t)
        lengths.append(int(client.infer("tokenizer", inputs).as_numpy("prefix_length").reshape(-1)[0]))
    return float(np.mean(lengths))


@dataclass
class Bench:
    binary: Path
    work: Path
    console: Console
    urls: dict[str, str]
    metrics_urls: dict[str, str]
    data: dict[str, Path]
    count_tokens: TokenCounter
    messages: list[dict]
    crisis_pointer: str = ""  # what run-to-completion's scoring step appends to a flagged reply
    also: dict[str, str] = field(default_factory=dict)  # a measured door -> the server behind it
    failures: list[str] = field(default_factory=list)
    prefill: dict[str, float] = field(default_factory=lambda: {"saved": 0.0, "computed": 0.0,
                                                               "requests": 0.0, "hits": 0.0})

    @property
    def runtimes(self) -> list[str]:
        return list(self.urls)

    def warm_up(self) -> None:
        """One unary request per server, so first-call costs stay out of the windows."""
        import tritonclient.grpc as grpcclient

        for url in self.urls.values():
            client = grpcclient.InferenceServerClient(url)
            inputs = []
            for k in ("text", "session_id", "context_type"):
                t = grpcclient.InferInput(k, [1, 1], "BYTES")
                t.set_data_from_numpy(_bytes(self.messages[0][k]))
                inputs.append(t)
            client.infer("pixel", inputs, client_timeout=600)

    def point(self, runtime: str, *, requests: int, concurrency: int | None = None,
              request_rate: float | None = None, rate_fraction: float | None = None) -> dict | None:
        """One perf_analyzer run; None (and a line in `failures`) when it failed."""
        model = MODELS.get(runtime, "pixel")
        tag = f"{runtime}-c{concurrency}" if concurrency else f"{runtime}-r{request_rate:g}"
        server = self.also.get(runtime, runtime)
        metrics = self.metrics_urls[server] if server == ENGINE else None
        for attempt in (1, 2):  # one retry: a point lost to a flaky run costs a long sweep's hole
            before = prom.settled(metrics) if metrics else None  # counters and load of this try
            load_1m = os.getloadavg()[0]
            try:
                r = pa.measure(self.binary, model=model, url=self.urls[server],
                               input_data=self.data[server], concurrency=concurrency,
                               request_rate=request_rate, window=pa.Window(requests=requests),
                               csv_path=self.work / f"{tag}.csv", streaming=runtime == ENGINE,
                               export_path=self.work / f"{tag}.json", timeout_s=480)
                break
            except pa.BenchmarkError as exc:  # one bad point must not throw away a long run
                self.failures.append(f"{tag} (try {attempt}): " + " ".join(str(exc).split())[:300])
                if attempt == 2:
                    return None
        timing = summarize(point_timings(self.work / f"{tag}.json", self.count_tokens))
        row = {"runtime": runtime, "model": model,
               **({"concurrency": concurrency} if concurrency else
                  {"rate_rps": request_rate, "rate_fraction": rate_fraction}),
               "requests": r["requests"], "throughput_rps": r["throughput_rps"], **timing,
               "load_1m": load_1m}
        tokens_per_request = timing["reply_tokens_mean"]
        row["delivered_tokens_per_s"] = r["throughput_rps"] * tokens_per_request
        if metrics:
            after = prom.settled(metrics)
            d = {k: prom.delta(before, after, name) for k, name in ENGINE_COUNTERS.items()}
            for k in ("saved", "computed", "hits"):
                self.prefill[k] += d[k]
            self.prefill["requests"] += d["engine_requests"]
            if d["engine_requests"]:
                tokens_per_request = d["generated"] / d["engine_requests"]
            row.update(generated_tokens=d["generated"], engine_requests=d["engine_requests"],
                       refused=d["refused"], rows_per_step=d["generated"] / d["steps"] if d["steps"] else 0.0)
        else:
            # A run-to-completion reply is never trimmed, so its re-tokenized text is what it
            # generated (EOS aside), once the crisis pointer appended to a flagged one is out.
            tokens_per_request = self.generated_tokens_mean(self.work / f"{tag}.json")
        # Generated tokens per second (the engine counts them itself).
        row["tokens_per_s"] = r["throughput_rps"] * tokens_per_request
        return row

    def generated_tokens_mean(self, export: Path) -> float:
        pointer = self.crisis_pointer.strip()

        def generated(text: str) -> int:
            return self.count_tokens(text.replace(pointer, "").rstrip() if pointer else text)
        return summarize(point_timings(export, generated))["reply_tokens_mean"]

    @staticmethod
    def line(row: dict) -> str:
        where = (f"c{row['concurrency']}" if "concurrency" in row else f"{row['rate_rps']:g} req/s")
        return (f"{row['runtime']} {where}: {row['throughput_rps']:.2f} req/s, {row['tokens_per_s']:.1f} tok/s, "
                f"TTFT p50 {row['ttft_p50_ms']:.0f} ms, ITL p50 {row['itl_p50_ms']:.0f} ms, "
                f"e2e p50 {row['e2e_p50_ms']:.0f} / p99 {row['e2e_p99_ms']:.0f} ms (load {row['load_1m']:.1f})")
