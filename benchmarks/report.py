"""Write a run's files (CSV, conditions.json, summary.md, PNGs) and re-render them from the CSVs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from benchmarks import plots
from benchmarks.perf_analyzer import BenchmarkError
from benchmarks.summary import render_summary


def write_csv(rows: list[dict], path: Path) -> None:
    if not rows:
        return
    keys = list(dict.fromkeys(k for r in rows for k in r))
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows({k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in r.items()} for r in rows)


def read_csv(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with path.open(newline="") as f:
        return [{k: v if k in ("target", "model") else int(v) if k == "concurrency" else float(v)
                 for k, v in r.items()} for r in csv.DictReader(f)]


def render_only(results: Path, device: str) -> Path:
    """Re-render summary.md and the plots from a run's CSVs and conditions.json (no measuring)."""
    sweep, conditions_file = read_csv(results / "sweep.csv"), results / "conditions.json"
    if not sweep or not conditions_file.is_file():
        raise BenchmarkError(f"{results} holds no sweep.csv + conditions.json: run the benchmark first")
    write_results(results, sweep=sweep, steps=read_csv(results / "steps.csv"),
                  client_rows=read_csv(results / "client.csv"),
                  conditions=json.loads(conditions_file.read_text()), device=device, write_data=False)
    return results


def write_results(results: Path, *, sweep, steps, client_rows, conditions: dict, device: str,
                  write_data: bool = True) -> None:
    results.mkdir(parents=True, exist_ok=True)
    if write_data:
        write_csv(sweep, results / "sweep.csv")
        write_csv(steps, results / "steps.csv")
        write_csv(client_rows, results / "client.csv")
        (results / "conditions.json").write_text(json.dumps(conditions, indent=1, ensure_ascii=False) + "\n")
    (results / "summary.md").write_text(render_summary(sweep=sweep, steps=steps, client=client_rows,
                                                       conditions=conditions))
    plots.throughput(sweep + client_rows, results / "throughput.png", f"Throughput vs concurrency ({device})")
    plots.latency(sweep, results / "latency.png", f"Latency percentiles ({device})")
    plots.step_split(steps, results / "steps.png", f"Where an ensemble request's time goes ({device})")
