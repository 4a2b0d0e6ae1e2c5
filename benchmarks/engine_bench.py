"""`make bench` (engine part): the engine's streaming `pixel_stream` vs the run-to-completion `pixel`.

Starts two tritonservers on free ports (performance profile): `lm=engine` and `lm=python` (an
export whose fixed max_new_tokens equals --max-new-tokens). Points alternate between them, so
both see the same machine load. perf_analyzer over gRPC, `--streaming` for the decoupled
`pixel_stream`, `--profile-export-file` for every response's client-side timestamp:

- closed loop: concurrency 1 2 4 8 16 32 (a fixed number of requests in flight); at 8 16 32 also
  the engine server's unary `pixel` (one response per request: the throughput without streaming);
- open loop: Poisson arrivals at fractions of the engine's closed-loop peak (req/s);
- a 200-request burst against the engine, then one more request;
- the committed messages (benchmarks/data/messages.json), replies up to --max-new-tokens (64)
  with EOS allowed (sent as the `max_new_tokens` input to the engine).

Writes closed.csv, poisson.csv, burst.csv, totals.json, conditions.json, summary.md (the issue's
targets, pass/fail) and PNGs to benchmarks/results/engine/. See docs/benchmarks.md.

    python -m benchmarks.engine_bench              # the full run (about 25 minutes on 2 cores)
    python -m benchmarks.engine_bench --quick      # concurrency 1 2, one rate, a 20-request burst
    python -m benchmarks.engine_bench --render-only
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rich.console import Console

from benchmarks import perf_analyzer as pa
from benchmarks.engine_points import Bench, engine_data, prefix_tokens_mean, rtc_overrides, token_counter
from benchmarks.engine_report import conditions, render_only, write_results
from benchmarks.engine_targets import ENGINE, ENGINE_UNARY, RTC
from benchmarks.inputs import MESSAGES, load_messages
from benchmarks.perf import free_port
from pipeline_lib.checkpoints import project_root, state_dir
from pipeline_lib.config.compose import compose_config
from pipeline_lib.contract import ADMIN_KEY_ENV
from pipeline_lib.errors import PixelError

RUNTIMES = (ENGINE, RTC)  # the two servers; ENGINE_UNARY is the engine server's `pixel`


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.engine_bench",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="smoke run: concurrency 1 2, one Poisson rate, a 20-request burst")
    p.add_argument("--concurrency", type=int, nargs="+", help="closed-loop levels (default 1 2 4 8 16 32)")
    p.add_argument("--unary-concurrency", type=int, nargs="+",
                   help="closed-loop levels at which the engine server's unary `pixel` is measured "
                        "too (default 8 16 32; quick: none; 0: none)")
    p.add_argument("--rate-fractions", type=float, nargs="+",
                   help="open-loop rates as fractions of the engine's closed-loop peak req/s "
                        "(default 0.3 0.6 0.9; 0 entries: no open-loop sweep)")
    p.add_argument("--rtc-rate-fractions", type=float, nargs="+",
                   help="the open-loop rates run-to-completion also gets (default 0.3: above its "
                        "capacity its queue only grows, and a point would run for many minutes)")
    p.add_argument("--max-new-tokens", type=int,
                   help="reply budget, EOS allowed (default 64; lm=python needs an export with it: made once)")
    p.add_argument("--runtimes", nargs="+", choices=RUNTIMES, default=list(RUNTIMES))
    p.add_argument("--requests-per-window", type=int,
                   help="closed loop: requests per window (default: engine max(2, min(2c, 64)), "
                        "run-to-completion max(1, min(c, 16)))")
    p.add_argument("--burst", type=int, help="burst size against the engine (default 200; 0: none)")
    p.add_argument("--burst-deadline", type=float, default=20.0,
                   help="seconds each burst request waits (sent as Triton's request timeout)")
    p.add_argument("--results", type=Path, help="output folder (default benchmarks/results/engine)")
    p.add_argument("--perf-analyzer", help="path of the perf_analyzer binary (default: found)")
    p.add_argument("--override", action="append", default=[], metavar="KEY=VALUE",
                   help="extra Hydra override for both servers (repeatable)")
    p.add_argument("--render-only", action="store_true",
                   help="measure nothing: rewrite summary.md and the plots from the files in --results")
    args = p.parse_args(argv)
    args.concurrency = args.concurrency or ([1, 2] if args.quick else [1, 2, 4, 8, 16, 32])
    args.unary_concurrency = [c for c in (args.unary_concurrency or ([] if args.quick else [8, 16, 32]))
                              if c > 0]
    args.rate_fractions = ([0.5] if args.quick else [0.3, 0.6, 0.9]) \
        if args.rate_fractions is None else [f for f in args.rate_fractions if f > 0]
    args.rtc_rate_fractions = (args.rate_fractions[:1] if args.rtc_rate_fractions is None
                               else args.rtc_rate_fractions)
    args.max_new_tokens = args.max_new_tokens or 64
    args.burst = (20 if args.quick else 200) if args.burst is None else args.burst
    return args


def window_requests(runtime: str, concurrency: int) -> int:
    """Closed loop: requests per count window (three windows a point). Each window holds at least
    one wave of in-flight requests (the engine two): a shorter one ends while the requests that
    started together in the window before still finish together, and measures that wave's ramp
    rather than the steady state (engine, 32 slots, c32: 16-request windows gave 111 tok/s, the
    generated-tokens counter over 45 s of steady load 145). Capped so the whole run fits ~25
    minutes on 2 cores; run-to-completion answers a request in tens of seconds there."""
    if runtime == RTC:
        return max(1, min(concurrency, 16))
    return max(2, min(2 * concurrency, 64))


def build(overrides: list[str], work: Path):
    """A not-yet-started server on free ports (composing configs is not thread-safe: do it here)."""
    from pipeline_lib.serving_stack import server_from_overrides

    work.mkdir(parents=True, exist_ok=True)
    return server_from_overrides(overrides, repository=work / "repository", http_port=free_port(),
                                 grpc_port=free_port(), metrics_port=free_port(),
                                 log_file=work / "tritonserver.log")


def server_overrides(args, console: Console) -> dict[str, list[str]]:
    base = ["profile=performance", *args.override]
    out = {}
    if ENGINE in args.runtimes:
        out[ENGINE] = ["lm=engine", *base]
    if RTC in args.runtimes:
        rtc = ["lm=python", *base, f"lm.max_new_tokens={args.max_new_tokens}"]
        out[RTC] = rtc + rtc_overrides(rtc, console)
    return out


def measure(args, console: Console, bench: Bench) -> tuple[list, list, dict | None]:
    closed, poisson = [], []
    with console.status("") as status:
        for c in args.concurrency:
            unary = [ENGINE_UNARY] if ENGINE in bench.runtimes and c in args.unary_concurrency else []
            for rt in bench.runtimes + unary:
                status.update(f"closed loop: {rt} at concurrency {c}")
                row = bench.point(rt, concurrency=c, requests=args.requests_per_window or window_requests(rt, c))
                if row:
                    closed.append(row)
                    console.print(bench.line(row))
        engine_peak = max((r["throughput_rps"] for r in closed if r["runtime"] == ENGINE), default=0.0)
        for f in args.rate_fractions if engine_peak else []:
            rate = round(f * engine_peak, 3)
            for rt in [r for r in bench.runtimes if r == ENGINE or f in args.rtc_rate_fractions]:
                status.update(f"open loop: {rt} at {rate} req/s (Poisson)")
                # enough requests per window for a few seconds of arrivals, never fewer than 4
                row = bench.point(rt, request_rate=rate, requests=max(3, round(6 * rate)),
                                  rate_fraction=f)
                if row:
                    poisson.append(row)
                    console.print(bench.line(row))
        burst = None
        if args.burst and ENGINE in bench.runtimes:
            from benchmarks.burst import run_burst

            status.update(f"burst: {args.burst} requests at once against the engine, then one more")
            try:
                burst = asyncio.run(run_burst(bench.urls[ENGINE], bench.messages[1], size=args.burst,
                                              deadline_s=args.burst_deadline,
                                              max_new_tokens=args.max_new_tokens)).row()
                console.print(f"burst: {burst}")
            except Exception as exc:  # noqa: BLE001 - keep the sweep's results whatever the burst did
                bench.failures.append(f"burst: {type(exc).__name__}: {exc}"[:300])
    return closed, poisson, burst


def run(args, console: Console) -> Path:
    results = args.results or project_root() / "benchmarks" / "results" / "engine"
    if args.render_only:
        return render_only(results)
    work = state_dir() / "bench" / "engine"
    work.mkdir(parents=True, exist_ok=True)
    binary = pa.find_perf_analyzer(args.perf_analyzer)
    pa.check_runs(binary)
    overrides = server_overrides(args, console)
    # One key for the servers and perf_analyzer (model config and statistics are admin APIs).
    os.environ.setdefault(ADMIN_KEY_ENV, secrets.token_urlsafe(24))
    load_before = os.getloadavg()
    servers = {}
    try:
        with console.status("starting tritonserver: " + ", ".join(overrides) + " (a minute or two)…"):
            with ThreadPoolExecutor(len(overrides)) as pool:  # both load their models at once
                built = {rt: build(ov, work / rt) for rt, ov in overrides.items()}
                futures = {rt: pool.submit(b.start) for rt, b in built.items()}
                errors = []
                for rt, fut in futures.items():  # collect every started one, so `finally` stops it
                    try:
                        servers[rt] = fut.result()
                    except Exception as exc:  # noqa: BLE001 - re-raised below, after collecting
                        errors.append(exc)
                if errors:
                    raise errors[0]
        cfg = compose_config(overrides.get(ENGINE) or overrides[RTC])
        messages = load_messages()
        bench = Bench(binary=binary, work=work, console=console,
                      urls={rt: s.grpc_url for rt, s in servers.items()},
                      metrics_urls={rt: s.metrics_url for rt, s in servers.items()},
                      data={ENGINE: engine_data(work / "engine.json", messages, args.max_new_tokens),
                            RTC: MESSAGES},  # its export fixes the budget: no max_new_tokens
                      also={ENGINE_UNARY: ENGINE} if ENGINE in servers else {},
                      count_tokens=token_counter(cfg), messages=messages,
                      crisis_pointer=cfg.scoring.crisis_pointer)
        bench.warm_up()
        prefix_mean = prefix_tokens_mean(bench.urls[ENGINE], messages) if ENGINE in servers else None
        closed, poisson, burst = measure(args, console, bench)
    finally:
        for s in servers.values():
            s.stop()
    if not closed:
        raise pa.BenchmarkError("no point was measured: " + "; ".join(bench.failures))
    totals = {"prefill": {**bench.prefill, "prefix_tokens_mean": prefix_mean}, "burst": burst or {}}
    cond = conditions(args, overrides=overrides, binary=binary, cfg=cfg,
                      load=(load_before, os.getloadavg()), failures=bench.failures)
    write_results(results, closed=closed, poisson=poisson, totals=totals, conditions=cond)
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console()
    try:
        results = run(args, console)
    except PixelError as exc:
        console.print(f"[red]engine benchmark failed:[/] {exc}")
        return 1
    console.print(f"results in [bold]{results}[/]: summary.md, closed.csv, poisson.csv, *.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
