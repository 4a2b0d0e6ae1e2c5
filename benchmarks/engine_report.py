"""Write the engine benchmark's files (CSVs, totals.json, conditions.json, summary.md, PNGs) and
re-render summary and plots from them."""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from pathlib import Path

from benchmarks import engine_plots
from benchmarks.engine_summary import render_summary
from benchmarks.perf import machine
from benchmarks.perf_analyzer import BenchmarkError
from benchmarks.report import write_csv

TEXT_COLUMNS = ("runtime", "model")


def read_rows(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with path.open(newline="") as f:
        return [{k: v if k in TEXT_COLUMNS else float(v) if v not in ("", "nan") else float("nan")
                 for k, v in r.items()} for r in csv.DictReader(f)]


def conditions(args, *, overrides: dict, binary, cfg, load: tuple, failures: list[str]) -> dict:
    (b1, b5, b15), (a1, a5, a15) = load
    return {
        "title": f"CPU run of {dt.date.today().isoformat()}: engine vs run-to-completion",
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": machine() + ", no GPU",
        "load average (1, 5, 15 min) before / after": f"{b1:.2f} {b5:.2f} {b15:.2f} / "
        f"{a1:.2f} {a5:.2f} {a15:.2f} (other engineers' tests shared the 2 cores: absolute figures "
        "are pessimistic and noisy; the two servers were measured alternately, so ratios are fairer)",
        "servers": "; ".join(f"{rt}: tritonserver 2.51 (PyPI), overrides `{' '.join(ov)}`"
                             for rt, ov in overrides.items()),
        "LM": f"{cfg.lm.checkpoint}, greedy, replies up to {args.max_new_tokens} new tokens, EOS allowed "
              "(engine: `max_new_tokens` input; run-to-completion: fixed by its export)",
        "perf_analyzer": f"`{binary}`, gRPC, `--streaming` for `pixel_stream`, `--profile-export-file` "
                         "(client-side timestamp of every response), the 16 committed messages, three "
                         "count windows per point (closed loop: engine max(2, min(2c, 64)) requests each, "
                         "run-to-completion max(1, min(c, 16)); open loop: max(3, 6 x rate))",
        "burst": f"{args.burst} unary `pixel` requests at once, deadline {args.burst_deadline:g} s each "
                 "(sent as Triton's request timeout)",
        "points that failed": "; ".join(failures) or "none",
        "python": sys.version.split()[0],
    }


def write_results(results: Path, *, closed: list[dict], poisson: list[dict], totals: dict,
                  conditions: dict, write_data: bool = True) -> None:
    results.mkdir(parents=True, exist_ok=True)
    if write_data:
        write_csv(closed, results / "closed.csv")
        write_csv(poisson, results / "poisson.csv")
        if totals.get("burst"):
            write_csv([totals["burst"]], results / "burst.csv")
        (results / "totals.json").write_text(json.dumps(totals, indent=1) + "\n")
        (results / "conditions.json").write_text(json.dumps(conditions, indent=1, ensure_ascii=False) + "\n")
    (results / "summary.md").write_text(render_summary(closed=closed, poisson=poisson, totals=totals,
                                                       conditions=conditions))
    engine_plots.throughput(closed, results / "throughput.png")
    engine_plots.latency(closed, results / "latency.png")
    if poisson:
        engine_plots.open_loop(poisson, results / "poisson.png")


def render_only(results: Path) -> Path:
    closed, cond, totals = (read_rows(results / "closed.csv"), results / "conditions.json",
                            results / "totals.json")
    if not closed or not cond.is_file() or not totals.is_file():
        raise BenchmarkError(f"{results} holds no closed.csv + conditions.json + totals.json: run the "
                             "benchmark first")
    write_results(results, closed=closed, poisson=read_rows(results / "poisson.csv"),
                  totals=json.loads(totals.read_text()), conditions=json.loads(cond.read_text()),
                  write_data=False)
    return results
