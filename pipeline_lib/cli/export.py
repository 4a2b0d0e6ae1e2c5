"""`pixel export`: checkpoint -> validated TorchScript LM artifact for Triton (LibTorch or Python)."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from pipeline_lib.lm.export import DTYPES, ExportOptions, default_out_dir, export
from pipeline_lib.lm.quant import SCHEMES


def add_parser(sub) -> None:
    p = sub.add_parser(
        "export", help="export the LM to TorchScript, validated against Hugging Face",
        description="Load a Llama/Mistral/Qwen2 checkpoint (Hugging Face folder or .gguf), merge an "
                    "optional LoRA adapter, script the decoder with its in-module decode loop and "
                    "write model.pt + tokenizer + metadata.json + validation.json into --out. The "
                    "file is installed only if its logits match Hugging Face within tolerance and "
                    "its greedy tokens are identical on a fixed prompt set; otherwise the command "
                    "fails and --out is left as it was.")
    p.add_argument("--checkpoint", default="demo",
                   help="Hugging Face folder or .gguf file (default: the demo SmolLM2 checkpoint)")
    p.add_argument("--adapter", type=Path, default=None, help="PEFT LoRA adapter folder to merge")
    p.add_argument("--out", type=Path, default=None,
                   help=f"destination folder (default: {default_out_dir()}, where `pixel render` "
                        "looks for lm=python / lm=libtorch)")
    p.add_argument("--dtype", choices=sorted(DTYPES), default="fp32", help="weight dtype")
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N]: where validation runs")
    p.add_argument("--max-new-tokens", type=int, default=64,
                   help="response length cap (fixed in the file)")
    p.add_argument("--max-seq-len", type=int, default=None,
                   help="prompt + response cap (default: the checkpoint's context length)")
    p.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default)")
    p.add_argument("--top-p", type=float, default=1.0,
                   help="nucleus sampling mass when temperature > 0")
    p.add_argument("--seed", type=int, default=0, help="sampling seed (fixed in the file)")
    p.add_argument("--quantize", choices=SCHEMES, default="none",
                   help="weight-only quantized layers for CPU decode (int8 per channel, int4 per "
                        "group); installed only if it passes the quality gates against fp32 "
                        "(top-1 agreement >= 95%%, perplexity ratio <= 1.05), see docs/lm.md")
    p.add_argument("--group-size", type=int, default=32,
                   help="int4: inputs sharing one scale and zero (a divisor of every layer's "
                        "input width; default 32)")
    p.add_argument("--quantize-head", choices=SCHEMES, default="int8",
                   help="the LM head when quantizing (default int8; none keeps it fp32)")
    p.set_defaults(func=run)


def run(args) -> int:
    console = Console()
    options = ExportOptions(checkpoint=args.checkpoint, out=args.out, adapter=args.adapter,
                            dtype=args.dtype, device=args.device,
                            max_new_tokens=args.max_new_tokens, max_seq_len=args.max_seq_len,
                            temperature=args.temperature, top_p=args.top_p, seed=args.seed,
                            quantize=args.quantize, group_size=args.group_size,
                            quantize_head=args.quantize_head)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("starting", total=None)
        report = export(options, progress=lambda step: progress.update(task, description=step))
        progress.update(task, description="done")
    if "quality" in report:
        _print_quality(console, report)
    else:
        _print_validation(console, report)
    out = Path(report["out"])
    console.print(f"[green]installed[/] {out / 'model.pt'}")
    console.print(json.loads((out / "metadata.json").read_text())["sha256"], style="dim")
    return 0


def _print_quality(console: Console, report: dict) -> None:
    q, spec = report["quality"], report["quantization"]
    table = Table(title=f"quality gates ({spec['scheme']}, head {spec['head']}, group "
                        f"{spec['group_size']}) against fp32")
    for column in ("sequences", "positions", "top-1 agreement", "perplexity ratio"):
        table.add_column(column)
    for key, name in (("prompts", "validation prompts + fp32 replies"), ("text", "quality text")):
        ratio = q[key]["perplexity"] / q[key]["reference_perplexity"]
        table.add_row(name, str(q[key]["positions"]), f"{q[key]['top1_agreement']:.3f}",
                      f"{ratio:.3f}")
    console.print(table)
    console.print(f"greedy prefix agreement with fp32: {q['greedy_prefix_agreement']:.2f}")


def _print_validation(console: Console, report: dict) -> None:
    table = Table(title=f"validation ({report['dtype']}, {report['prompts']} prompts)")
    for column in ("prompt tokens", "max abs logit error", "tokens", "greedy identical"):
        table.add_column(column)
    for row in report["rows"]:
        table.add_row(str(row["prompt_tokens"]), f"{row['logits_max_abs_error']:.3g}",
                      str(row["tokens"]), str(row["greedy_identical"]))
    console.print(table)
    if "upcast_fp32" in report:
        exact = report["upcast_fp32"]
        console.print(f"fp32 upcast of the file: max abs logit error "
                      f"{exact['logits_max_abs_error']:.3g}, greedy identical "
                      f"{exact['greedy_identical']}")
    console.print(f"max abs logit error {report['logits_max_abs_error']:.3g}")
