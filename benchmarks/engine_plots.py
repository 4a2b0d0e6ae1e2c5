"""The engine benchmark's PNGs: throughput and latency vs concurrency, latency vs offered rate."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

from benchmarks.engine_targets import ENGINE, ENGINE_UNARY, RTC  # noqa: E402

LABELS = {ENGINE: "engine (pixel_stream)", ENGINE_UNARY: "engine (pixel, unary)",
          RTC: "run-to-completion (pixel)"}
COLORS = {ENGINE: "tab:blue", ENGINE_UNARY: "tab:green", RTC: "tab:orange"}


def _series(rows: list[dict], runtime: str, x: str) -> list[dict]:
    return sorted((r for r in rows if r["runtime"] == runtime), key=lambda r: float(r[x]))


def _log_x(ax, xs) -> None:
    ax.set_xscale("log")
    ax.set_xticks(xs)
    ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.grid(True, which="both", alpha=0.3)


def _save(fig, path: Path, title: str) -> Path:
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def throughput(closed: list[dict], path: Path) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    xs = sorted({int(r["concurrency"]) for r in closed})
    for ax, key, label in ((axes[0], "tokens_per_s", "generated tokens/s"),
                           (axes[1], "throughput_rps", "requests/s")):
        for rt in (ENGINE, ENGINE_UNARY, RTC):
            s = _series(closed, rt, "concurrency")
            if not s:
                continue
            ax.plot([int(r["concurrency"]) for r in s], [float(r[key]) for r in s], marker="o",
                    label=LABELS[rt], color=COLORS[rt])
        _log_x(ax, xs)
        ax.set(xlabel="concurrency (requests in flight)", ylabel=label)
        ax.set_ylim(bottom=0)
    axes[0].legend(fontsize=8)
    return _save(fig, path, "Throughput vs concurrency (CPU, replies up to 64 tokens)")


def _latency_panels(rows: list[dict], x: str, xlabel: str, path: Path, title: str, log_x: bool) -> Path:
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    xs = sorted({float(r[x]) for r in rows})
    panels = (("ttft", "time to first text (ms)"), ("itl", "inter-token (ms per token)"),
              ("e2e", "end-to-end (ms)"))
    for ax, (key, label) in zip(axes, panels, strict=True):
        for rt in (ENGINE, RTC):
            s = [r for r in _series(rows, rt, x) if r[f"{key}_p50_ms"] == r[f"{key}_p50_ms"]]  # not NaN
            if not s:
                continue
            for q, style in (("p50", "-"), ("p99", "--")):
                ax.plot([float(r[x]) for r in s], [float(r[f"{key}_{q}_ms"]) for r in s], style, marker=".",
                        color=COLORS[rt], label=f"{LABELS[rt]} {q}")
        if log_x:
            _log_x(ax, [int(v) for v in xs])
        else:
            ax.grid(True, alpha=0.3)
        ax.set(xlabel=xlabel, ylabel=label, yscale="log")
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    axes[2].legend(fontsize=7)
    return _save(fig, path, title)


def latency(closed: list[dict], path: Path) -> Path:
    return _latency_panels(closed, "concurrency", "concurrency", path,
                           "Latency vs concurrency (client side; run-to-completion: TTFT = end-to-end)",
                           log_x=True)


def open_loop(poisson: list[dict], path: Path) -> Path:
    return _latency_panels(poisson, "rate_rps", "offered load (requests/s, Poisson)", path,
                           "Latency vs offered load (open loop)", log_x=False)
