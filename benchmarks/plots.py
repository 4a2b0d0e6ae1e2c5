"""The three committed PNGs: throughput vs concurrency, latency percentiles, per-step time split."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

from benchmarks.ratios import STEPS, points  # noqa: E402

TARGET_ORDER = ("pixel", "baseline", "pixel_lm", "tokenizer", "scoring")
LABELS = {"pixel": "ensemble pixel", "baseline": "HF baseline", "pixel_lm": "pixel_lm alone",
          "tokenizer": "tokenizer alone", "scoring": "scoring alone", "client": "PixelClient -> pixel"}


def _targets(sweep: list[dict]) -> list[str]:
    present = {r["target"] for r in sweep}
    return [t for t in (*TARGET_ORDER, "client") if t in present]


def throughput(sweep: list[dict], path: Path, title: str) -> Path:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for t in _targets(sweep):
        pts = points(sweep, t)
        ax.plot([p.concurrency for p in pts], [p.throughput_rps for p in pts], marker="o", label=LABELS[t])
    ax.set(xscale="log", yscale="log", xlabel="concurrency (requests in flight)",
           ylabel="throughput (requests/s)", title=title)
    ax.set_xticks(sorted({int(r["concurrency"]) for r in sweep}))
    ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def latency(sweep: list[dict], path: Path, title: str) -> Path:
    targets = _targets(sweep)
    fig, axes = plt.subplots(1, len(targets), figsize=(3.2 * len(targets), 3.8), squeeze=False)
    for ax, t in zip(axes[0], targets, strict=True):
        rows = sorted((r for r in sweep if r["target"] == t), key=lambda r: r["concurrency"])
        xs = [int(r["concurrency"]) for r in rows]
        for q in ("p50", "p90", "p99"):
            ax.plot(xs, [float(r[f"{q}_ms"]) for r in rows], marker=".", label=q)
        ax.set(xscale="log", yscale="log", title=LABELS[t], xlabel="concurrency")
        ax.set_xticks(xs)
        ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("latency (ms)")
    axes[0][0].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def step_split(steps: list[dict], path: Path, title: str, *, target: str = "pixel") -> Path:
    """Stacked bars per concurrency: each step's queue and compute time inside one ensemble request;
    the right panel leaves out the LM's compute so the small parts stay visible."""
    rows = [r for r in steps if r["target"] == target]
    levels = sorted({int(r["concurrency"]) for r in rows})
    by = {(int(r["concurrency"]), r["model"]): r for r in rows}
    parts = [(s, p) for s in STEPS for p in ("queue", "compute")]
    colors = dict(zip(parts, plt.get_cmap("tab20").colors, strict=False))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, shown, subtitle in ((axes[0], parts, "whole request"),
                                (axes[1], [x for x in parts if x != ("pixel_lm", "compute")],
                                 "without pixel_lm compute")):
        bottoms = [0.0] * len(levels)
        for step, part in shown:
            heights = [float(by[(c, step)][f"{part}_ms"]) if (c, step) in by else 0.0 for c in levels]
            ax.bar([str(c) for c in levels], heights, bottom=bottoms, label=f"{step} {part}",
                   color=colors[(step, part)], hatch="//" if part == "queue" else None)
            bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
        steps_total = [sum(float(by[(c, s)][f"{p}_ms"]) for s, p in parts if (c, s) in by) for c in levels]
        rest = [max(float(by[(c, target)]["request_ms"]) - t, 0.0) if (c, target) in by else 0.0
                for c, t in zip(levels, steps_total, strict=True)]
        ax.bar([str(c) for c in levels], rest, bottom=bottoms, label="ensemble hand-offs", color="0.7")
        ax.set(xlabel="concurrency", ylabel="ms per request (server side)", title=subtitle)
    axes[1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
