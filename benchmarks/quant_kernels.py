"""Kernel choice for quantized decode: all matmuls of one demo-model step (30 layers x 4 + head).

Our fp32 path (column-major two-core `Linear`) against the aten weight-only kernels, with bf16 and
fp32 activations, for M rows (1, 8: decode; 40, 320: prefill of one / eight prompts). Fastest of a
few runs, one process, all variants side by side; writes benchmarks/results/lm/quant_kernels.md.

    .venv/bin/python benchmarks/quant_kernels.py [--rows 1,8,40,320]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch

from pipeline_lib.lm.model import Linear
from pipeline_lib.lm.quant import Int4Linear, Int8Linear

SHAPES = [(960, 576), (576, 576), (3072, 576), (576, 1536)] * 30 + [(49152, 576)]


def best_ms(fn, repeats: int) -> float:
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1,8,40,320")
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).parent / "results" / "lm" / "quant_kernels.md")
    args = parser.parse_args()
    torch.manual_seed(0)
    weights = [torch.randn(n, k) * 0.02 for n, k in SHAPES]
    fp32 = []
    for w in weights:
        layer = Linear(w.shape[1], w.shape[0], bias=False)
        layer.weight.data = w.t().contiguous().t()
        fp32.append(layer)
    variants = {"fp32 (ours)": fp32,
                "int8 per channel": [Int8Linear.from_weight(w) for w in weights],
                "int4 group 32": [Int4Linear.from_weight(w, 32) for w in weights],
                "int4 group 64": [Int4Linear.from_weight(w, 64) for w in weights]}
    load_before = os.getloadavg()[0]
    lines = []
    with torch.inference_mode():
        for m in [int(r) for r in args.rows.split(",")]:
            xs = {k: torch.randn(m, k) for k in (576, 1536)}
            times = {name: best_ms(lambda: [layer(xs[layer.in_features]) for layer in layers],
                                   3 if m <= 40 else 2) for name, layers in variants.items()}
            if m == 1:  # the fp32-activation fallback of the aten kernels, once
                times["int4 group 32, fp32 activations"] = best_ms(lambda: [
                    torch.ops.aten._weight_int4pack_mm_for_cpu(
                        xs[q.in_features], q.weight_int4, 32, q.scales_and_zeros.float())
                    for q in variants["int4 group 32"]], 1)
            base = times["fp32 (ours)"]
            for name, ms in times.items():
                lines.append(f"| {m} | {name} | {ms:.1f} | {base / ms:.2f}x |")
                print(lines[-1], flush=True)
    note = (f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU "
            f"{torch.backends.cpu.get_cpu_capability()}; quantized kernels take bf16 activations "
            f"unless said; 1-min load before/after {load_before:.2f} / {os.getloadavg()[0]:.2f} "
            "(shared machine: compare within a row group only).")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("# Quantized kernels: one decode step's matmuls (demo shapes)\n\n" + note
                        + "\n\n| rows | variant | ms | vs fp32 |\n|---|---|---|---|\n"
                        + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
