"""Soak the served pipeline until its Python stubs would crash: many concurrent unary calls, each
asking for ONE output (so the stub drops the others inside send()), every reply streamed from the
engine through a decoupled BLS call. On Triton 2.51 both paths freed numpy arrays without the GIL
and killed a stub within a few hundred calls (docs/engine.md, "Stub crashes"); this is the check
that they no longer do. Not a speed benchmark: it reports errors and which stubs survived.

    python -m benchmarks.stub_soak --calls 600 --concurrency 24
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import tritonclient.grpc as grpcclient
from rich.console import Console

from benchmarks.perf import free_port
from pipeline_lib.serving_stack import server_from_overrides
from pipeline_lib.stub_processes import live_stubs

# Everyday messages written for this tool (none is user data).
MESSAGES = ("Work was long today and I am tired.", "The cat knocked a plant off the shelf.",
            "Exams start next week and I keep putting off revision.",
            "We moved flats last month and I still can't find the kettle.")
CRASH_SIGNS = ("fastbin", "double free", "corrupted", "Reference count", "Segmentation fault")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--calls", type=int, default=600, help="unary calls in all (default 600)")
    p.add_argument("--concurrency", type=int, default=24, help="calls in flight (default 24)")
    p.add_argument("--max-new-tokens", type=int, default=4,
                   help="reply budget per call: short replies give more calls per minute (default 4)")
    p.add_argument("--override", action="append", default=[], metavar="KEY=VALUE",
                   help="extra Hydra override for the server (repeatable)")
    return p.parse_args(argv)


def call(client, i: int, max_new_tokens: int) -> None:
    inputs = []
    for name, value in (("text", MESSAGES[i % len(MESSAGES)]), ("session_id", f"soak-{i}"),
                        ("context_type", "general_support")):
        tensor = grpcclient.InferInput(name, [1, 1], "BYTES")
        tensor.set_data_from_numpy(np.array([[value.encode()]], dtype=np.object_))
        inputs.append(tensor)
    budget = grpcclient.InferInput("max_new_tokens", [1, 1], "INT32")
    budget.set_data_from_numpy(np.array([[max_new_tokens]], dtype=np.int32))
    client.infer("pixel", [*inputs, budget], client_timeout=120,
                 outputs=[grpcclient.InferRequestedOutput("overall_eq")])


def soak(args, console: Console) -> int:
    work = Path(tempfile.mkdtemp(prefix="pixel-soak-"))
    server = server_from_overrides(
        ["profile=development", *args.override], repository=work / "repository",
        http_port=free_port(), grpc_port=free_port(), metrics_port=free_port(),
        log_file=work / "tritonserver.log")
    with console.status("starting tritonserver (a minute or two)…"):
        server.start()
    try:
        before = live_stubs(server.process.pid)
        errors: Counter = Counter()
        next_call = iter(range(args.calls))
        lock = threading.Lock()

        def worker() -> None:
            client = grpcclient.InferenceServerClient(server.grpc_url.removeprefix("grpc://"))
            while True:
                with lock:
                    i = next(next_call, None)
                if i is None:
                    return
                try:
                    call(client, i, args.max_new_tokens)
                except Exception as exc:  # noqa: BLE001 - counted by kind, the soak goes on
                    with lock:
                        errors[str(exc).split(":")[0][:60]] += 1

        started = time.monotonic()
        with console.status(f"{args.calls} calls, {args.concurrency} in flight…"):
            threads = [threading.Thread(target=worker) for _ in range(args.concurrency)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        seconds = time.monotonic() - started
        died = sorted(set(before) - set(live_stubs(server.process.pid)))
        log = (work / "tritonserver.log").read_text(errors="replace")
        signs = [s for s in CRASH_SIGNS if s in log]
    finally:
        server.stop()
    console.print(f"{args.calls} calls in {seconds:.0f} s at concurrency {args.concurrency}; "
                  f"errors: {dict(errors) or 'none'}")
    console.print(f"stubs that died: {died or 'none'}; crash signs in the server log: "
                  f"{signs or 'none'} ({work / 'tritonserver.log'})")
    return 1 if died or signs or errors else 0


def main(argv=None) -> int:
    return soak(parse_args(argv), Console())


if __name__ == "__main__":
    raise SystemExit(main())
