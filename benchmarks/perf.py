"""`make bench`: perf_analyzer over gRPC against the ensemble, each step alone and an HF baseline.

The run-to-completion ensemble (`lm=python` unless --override lm=... says otherwise); the engine's
sweep is `python -m benchmarks.engine_bench` (docs/benchmarks.md).

Starts tritonserver with the `performance` profile on free ports (or measures a running server
with --url), sweeps concurrency for every target, reads Triton's per-model statistics around each
point, runs the async-client load test, and writes sweep.csv, steps.csv, client.csv, summary.md
and three PNGs to the results folder. See docs/benchmarks.md.

    python -m benchmarks.perf                 # full CPU run -> benchmarks/results/cpu/
    python -m benchmarks.perf --quick         # a minute or two: fewer points, shorter windows
    python -m benchmarks.perf --gpu           # GPU machine: instances=gpu, perf-analyzer from PyPI
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import secrets
import socket
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from benchmarks import inputs as bench_inputs
from benchmarks import perf_analyzer as pa
from benchmarks import server_stats
from benchmarks.report import render_only, write_results
from pipeline_lib.checkpoints import project_root, state_dir
from pipeline_lib.config.compose import compose_config
from pipeline_lib.errors import PixelError

TARGETS = ("pixel_lm", "pixel", "baseline", "tokenizer", "scoring")
GENERATING = {"pixel", "pixel_lm", "baseline"}  # run the LM: seconds per request on a CPU


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.perf", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="concurrency 1 and 4, short windows (a smoke run)")
    p.add_argument("--concurrency", type=int, nargs="+", help="levels to sweep (default 1 2 4 8 16)")
    p.add_argument("--max-new-tokens", type=int, default=16,
                   help="tokens the LM generates per request (default 16: a 2-core CPU makes ~20-30/s)")
    p.add_argument("--targets", nargs="+", choices=TARGETS, default=list(TARGETS))
    p.add_argument("--results", type=Path, help="output folder (default benchmarks/results/cpu or gpu)")
    p.add_argument("--url", help="measure a running server at this gRPC host:port instead of starting one")
    p.add_argument("--gpu", action="store_true",
                   help="GPU machine: instances=gpu lm.device=cuda, results/gpu, perf-analyzer from PyPI")
    p.add_argument("--perf-analyzer", help="path of the perf_analyzer binary (default: found)")
    p.add_argument("--override", action="append", default=[], metavar="KEY=VALUE",
                   help="extra Hydra override for the server, e.g. lm=libtorch (repeatable; default lm=python)")
    p.add_argument("--requests-per-window", type=int,
                   help="fix every window's request count (default: by target and concurrency)")
    p.add_argument("--client-requests", type=int, help="requests per level of the client load test")
    p.add_argument("--no-client", action="store_true", help="skip the async-client load test")
    p.add_argument("--render-only", action="store_true",
                   help="measure nothing: rewrite summary.md and the plots from the CSVs in --results")
    return p.parse_args(argv)


def window_for(target: str, concurrency: int, quick: bool, fixed: int | None = None) -> pa.Window:
    if fixed:
        return pa.Window(requests=fixed)
    if target in GENERATING:
        return pa.Window(requests=max(2, concurrency) if quick else max(4, 2 * concurrency))
    return pa.Window(requests=max(10, 2 * concurrency) if quick else max(40, 4 * concurrency))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# This sweep measures the run-to-completion ensemble (tokenizer -> pixel_lm -> scoring, one
# blocking LM call): keep it on `lm=python` now that the engine is the embedded default, so its
# results stay comparable with earlier runs. The engine has its own harness (benchmarks.engine_bench).
DEFAULT_LM = "lm=python"


def server_overrides(args) -> list[str]:
    gpu = ["instances=gpu", "lm.device=cuda"] if args.gpu else []
    lm = [] if any(o.startswith("lm=") for o in args.override) else [DEFAULT_LM]
    return [*lm, "profile=performance", f"lm.max_new_tokens={args.max_new_tokens}", *gpu, *args.override]


def exported_lm_overrides(overrides: list[str], console: Console) -> list[str]:
    """lm=python / lm=libtorch fix max_new_tokens in the exported file: point the server at an
    export made (once) with the sweep's value, unless the caller named an artifact_dir."""
    lm = compose_config(overrides).lm
    if lm.runtime == "hf" or lm.get("artifact_dir"):
        return []
    out = state_dir() / "exports" / f"bench-{lm.max_new_tokens}-{lm.dtype}"
    if not (out / "model.pt").is_file():
        console.print(f"exporting the LM with max_new_tokens={lm.max_new_tokens} to {out} (once)")
        cmd = [str(Path(sys.executable).parent / "pixel"), "export", "--out", str(out), "--checkpoint",
               str(lm.checkpoint), "--dtype", str(lm.dtype), "--max-new-tokens", str(lm.max_new_tokens)]
        if subprocess.run(cmd).returncode != 0:
            raise pa.BenchmarkError(f"`{' '.join(cmd)}` failed: fix the export or pass "
                                    "--override lm.artifact_dir=<an export with this max_new_tokens>")
    return [f"lm.artifact_dir={out}"]


def start_server(overrides: list[str], work: Path):
    """The ensemble plus the baseline on free ports, performance profile."""
    from pipeline_lib.config.baseline import BASELINE_NAME, install_baseline
    from pipeline_lib.serving_stack import server_from_overrides
    from pipeline_lib.contract import ADMIN_KEY_ENV

    # One key for the server and for server_stats (statistics are an admin API).
    os.environ.setdefault(ADMIN_KEY_ENV, secrets.token_urlsafe(24))

    repository = work / "repository"
    server = server_from_overrides(overrides, repository=repository, http_port=free_port(),
                                   grpc_port=free_port(), metrics_port=free_port(),
                                   log_file=work / "tritonserver.log")
    install_baseline(compose_config(overrides), repository)
    server.models = [*server.models, BASELINE_NAME]
    return server.start()


def machine() -> str:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor() or "unknown CPU")
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def gpu_name() -> str:
    try:
        import torch

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    except Exception:  # noqa: BLE001 - a label only
        return "unknown"


def prepare_inputs(client, cfg, work: Path, targets: list[str]) -> dict[str, Path]:
    messages = bench_inputs.load_messages()
    data = {t: bench_inputs.MESSAGES for t in ("pixel", "tokenizer", "baseline")}
    if {"pixel_lm", "scoring"} & set(targets):
        ids, mask = bench_inputs.lm_inputs(bench_inputs.prompt_encoder(cfg), messages)
        data["pixel_lm"] = bench_inputs.write_lm_data(work / "pixel_lm.json", ids, mask)
        if "scoring" in targets:
            out_ids, out_len = bench_inputs.generate_outputs(client, ids, mask)
            data["scoring"] = bench_inputs.write_scoring_data(work / "scoring.json", messages, out_ids, out_len)
    return data


def warm_up(client, target: str, data: Path) -> None:
    """One request first, so model first-call costs stay out of the windows."""
    metadata = client.get_model_metadata(target, as_json=True)
    client.infer(target, bench_inputs.first_request(data, metadata), client_timeout=1800)


def measure_point(binary, client, *, target, url, data, concurrency, window, work) -> tuple[dict, list]:
    """One perf_analyzer call with Triton's statistics read around it: (sweep row, step rows)."""
    load_1m = os.getloadavg()[0]
    before = server_stats.snapshot(client)
    r = pa.measure(binary, model=target, url=url, input_data=data, concurrency=concurrency,
                   window=window, csv_path=work / f"{target}-{concurrency}.csv")
    # a request still in flight finishes within about one p99: wait for the counters to stand still
    after = server_stats.settled_snapshot(client, quiet_s=max(0.5, 1.5 * r["p99_us"] / 1e6))
    compute = sum(r.get(f"server_compute_{p}_us", 0.0) for p in ("input", "infer", "output"))
    row = {"target": target, "concurrency": concurrency, "requests": r["requests"],
           "throughput_rps": r["throughput_rps"],
           **{f"{q}_ms": r[f"{q}_us"] / 1e3 for q in ("p50", "p90", "p95", "p99", "avg")},
           "server_queue_ms": r.get("server_queue_us", 0.0) / 1e3, "server_compute_ms": compute / 1e3,
           "load_1m": load_1m}
    steps = [{"target": target, "concurrency": concurrency, **s}
             for s in server_stats.step_rows(before, after)]
    return row, steps


def conditions(args, *, url, overrides, cfg, binary, load: tuple, failures: list[str]) -> dict:
    (b1, b5, b15), (a1, a5, a15) = load
    windows = (f"{args.requests_per_window} requests each" if args.requests_per_window else
               "LM targets: max(2, c) requests each; tokenizer/scoring: max(10, 2c)" if args.quick else
               "LM targets: max(4, 2c) requests each; tokenizer/scoring: max(40, 4c)")
    return {
        "title": f"{'GPU' if args.gpu else 'CPU'} run of {dt.date.today().isoformat()}",
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": machine() + (f", GPU: {gpu_name()}" if args.gpu else ", no GPU"),
        "load average (1, 5, 15 min) before / after": f"{b1:.2f} {b5:.2f} {b15:.2f} / "
        f"{a1:.2f} {a5:.2f} {a15:.2f} (other work shared the cores)",
        "server": (f"running server at {url} (its own config; the LM line below is the default's)"
                   if args.url else "tritonserver 2.51 (PyPI) started by the harness on free ports, "
                   f"overrides `{' '.join(overrides)}`"),
        "LM": f"runtime `{cfg.lm.runtime}`, {cfg.lm.get('dtype', '?')}, greedy, max_new_tokens "
              f"{cfg.lm.max_new_tokens} (kept small: a 2-core CPU generates ~20-30 tokens/s at batch 1)",
        "perf_analyzer": f"`{binary}`, gRPC, `--input-data` (16 invented messages, 3-870 characters), "
                         f"three count windows per point ({windows})",
        "points that failed": "; ".join(failures) or "none",
        "python": sys.version.split()[0],
    }


def measure_all(args, console: Console, *, url: str, cfg, binary: Path, work: Path, levels: list[int],
                failures: list[str]) -> tuple[list, list, list]:
    import asyncio

    import tritonclient.grpc as grpcclient

    from benchmarks.client_load import client_load

    client = grpcclient.InferenceServerClient(url)
    targets = [t for t in args.targets if client.is_model_ready(t)]
    if "pixel" not in targets:
        raise pa.BenchmarkError(f"the ensemble `pixel` is not ready at {url}")
    skipped = [t for t in args.targets if t not in targets]
    if skipped:
        console.print(f"not served at {url}, skipped: {', '.join(skipped)}")
    with console.status("preparing inputs (tokenizing; one LM call for the scoring inputs)…"):
        data = prepare_inputs(client, cfg, work, targets)
    sweep, steps, client_rows = [], [], []
    for t in targets:
        warm_up(client, t, data[t])
    with console.status("") as status:
        # Concurrency-major: the targets compared at one level are measured minutes apart, not an
        # hour, so a burst of other work on the shared cores skews them less.
        for c in levels:
            for t in targets:
                status.update(f"perf_analyzer: {t} at concurrency {c}")
                try:
                    row, st = measure_point(binary, client, target=t, url=url, data=data[t], concurrency=c,
                                            window=window_for(t, c, args.quick, args.requests_per_window),
                                            work=work)
                except pa.BenchmarkError as exc:  # one bad point must not throw away a long run
                    failures.append(f"{t} at concurrency {c}: " + " ".join(str(exc).split())[:300])
                    continue
                sweep.append(row)
                steps += st
                console.print(f"c{c} {t}: {row['throughput_rps']:.2f} req/s, p50 {row['p50_ms']:.0f} ms, "
                              f"p99 {row['p99_ms']:.0f} ms (load {row['load_1m']:.1f})")
        if not args.no_client:
            status.update("client load test (PixelClient)…")
            client_levels = [c for c in levels if c in (1, 4, 16)] or levels[:1]
            n = args.client_requests or (8 if args.quick else 16)
            client_rows = asyncio.run(client_load(url, levels=client_levels, requests=n))
    return sweep, steps, client_rows


def run(args, console: Console) -> Path:
    results = args.results or project_root() / "benchmarks" / "results" / ("gpu" if args.gpu else "cpu")
    if args.render_only:
        return render_only(results, "GPU" if args.gpu else "CPU")
    levels = args.concurrency or ([1, 4] if args.quick else [1, 2, 4, 8, 16])
    work = state_dir() / "bench" / results.name  # inputs, raw CSVs, repository, server log
    work.mkdir(parents=True, exist_ok=True)
    binary = pa.find_perf_analyzer(args.perf_analyzer)
    pa.check_runs(binary)
    overrides = server_overrides(args)
    if args.url is None:
        overrides += exported_lm_overrides(overrides, console)
    cfg = compose_config(overrides)
    load_before = os.getloadavg()
    server, failures = None, []
    if args.url is None:
        with console.status("starting tritonserver (performance profile) with the baseline…"):
            server = start_server(overrides, work)
    url = args.url or server.grpc_url
    try:
        sweep, steps, client_rows = measure_all(args, console, url=url, cfg=cfg, binary=binary, work=work,
                                                levels=levels, failures=failures)
    finally:
        if server is not None:
            server.stop()
    if not sweep:
        raise pa.BenchmarkError("no point was measured: " + "; ".join(failures))
    for f in failures:
        console.print(f"[yellow]failed point[/] {f}")
    cond = conditions(args, url=url, overrides=overrides, cfg=cfg, binary=binary,
                      load=(load_before, os.getloadavg()), failures=failures)
    write_results(results, sweep=sweep, steps=steps, client_rows=client_rows, conditions=cond,
                  device="GPU" if args.gpu else "CPU")
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console()
    try:
        results = run(args, console)
    except PixelError as exc:
        console.print(f"[red]benchmark failed:[/] {exc}")
        return 1
    console.print(f"results in [bold]{results}[/]: summary.md, sweep.csv, steps.csv, client.csv, *.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
