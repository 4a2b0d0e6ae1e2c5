"""Write `benchmarks/lm_speed.py` results: CSV, a Markdown table and a bar chart."""

from __future__ import annotations

import csv
from pathlib import Path


def write_results(rows: list[dict], out: Path, device: str, note: str, stem_name: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    stem = out / stem_name
    fields = sorted({k for r in rows for k in r}, key=lambda k: list(rows[0]).index(k)
                    if k in rows[0] else 99)
    with open(f"{stem}.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    cols = ["runtime", "dtype", "batch", "ttft_ms", "tokens_per_s", "median_tokens_per_s",
            "decode_tokens_per_s",
            "MB_per_step", "achieved_GBps", "bandwidth_utilisation", "speedup_vs_hf",
            "speedup_vs_hf_fp32", "decode_speedup_vs_hf_fp32", "speedup_vs_ours_fp32",
            "decode_speedup_vs_ours_fp32", "same_tokens_as_hf", "same_prefix_tokens_as_hf"]
    lines = [f"# LM speed ({device}: {rows[0]['device_name']})", "", note, "",
             "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r.get(c, "")) for c in cols) + " |" for r in rows]
    Path(f"{stem}.md").write_text("\n".join(lines) + "\n")
    labels = sorted({(r["dtype"], r["batch"]) for r in rows})
    names = list(dict.fromkeys(r["runtime"] for r in rows))
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        values = [next((r["tokens_per_s"] for r in rows if r["runtime"] == name
                        and (r["dtype"], r["batch"]) == lab), 0) for lab in labels]
        ax.bar([x + i * width for x in range(len(labels))], values, width, label=name)
    ax.set_xticks([x + width * (len(names) - 1) / 2 for x in range(len(labels))])
    ax.set_xticklabels([f"{d} b{b}" for d, b in labels])
    ax.set_ylabel("tokens/s (greedy, incl. prefill)")
    ax.set_title(f"Pixel LM vs HF generate, demo model, {device}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(f"{stem}.png", dpi=120)
