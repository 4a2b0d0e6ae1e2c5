"""Engine speed: in-flight batching vs the run-to-completion module, same weights, same prompts.

For each concurrency c: c chat prompts (benchmarks/data/messages.json, with a shared system
prompt as the prefix), greedy, stop tokens off so every request generates exactly --new-tokens.
- engine: all c submitted at once, stepped until done (prefill chunks interleave with decode).
- run_to_completion: the exported module's code (PixelLM, TorchScript) on the c prompts
  left-padded into one batch, as the `python` LM runtime runs it.
One warm-up, then --repeats timed runs round-robin; the fastest is reported (outside load only
adds time), the median beside it. Also the engine's time to first token and mean inter-token gap.

    .venv/bin/python benchmarks/engine_speed.py                       # CPU, c = 1, 4, 8
    python benchmarks/engine_speed.py --device cuda --concurrency 1,8,16,32

On a machine the demo checkpoint cannot travel to (the GPU machine takes 64 MiB), `--preset
smollm2-135m --tokenizer DIR` builds the same shapes with seeded random weights: with stop tokens
off every request generates exactly --new-tokens whatever the weights, so the timings are the
demo model's (`benchmarks/gpu/engine_speed.sh`).

Writes <out>/engine_speed_<device>.csv and .md.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import time
import warnings
from pathlib import Path

import torch

warnings.filterwarnings("ignore", category=DeprecationWarning)

SYSTEM = ("You are Pixel, a warm, careful listener for people going through a hard time. "
          "Answer briefly and kindly.")
MESSAGES = Path(__file__).parent / "data" / "messages.json"


def prompts(tokenizer, n: int) -> tuple[list[list[int]], int]:
    texts = [item["text"][0] for item in json.loads(MESSAGES.read_text())["data"]]
    texts = (texts * (n // len(texts) + 1))[:n]
    system = [{"role": "system", "content": SYSTEM}]

    def ids(x):
        return list(x["input_ids"]) if hasattr(x, "keys") else list(x)

    prefix = ids(tokenizer.apply_chat_template(system, tokenize=True))
    rows = [ids(tokenizer.apply_chat_template(system + [{"role": "user", "content": t}],
                                              add_generation_prompt=True, tokenize=True))
            for t in texts]
    return rows, len(prefix)


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def run_engine(engine, rows, prefix_len, new_tokens) -> dict:
    from pipeline_lib.engine import GenerationRequest

    start = time.perf_counter()
    for i, r in enumerate(rows):
        engine.submit(GenerationRequest(i, r, prefix_len=prefix_len, max_new_tokens=new_tokens))
    first: dict[int, float] = {}
    last: dict[int, float] = {}
    tokens = 0
    while engine.has_work():
        events = engine.step()
        now = time.perf_counter()
        for e in events:
            if e.token_id is not None:
                tokens += 1
                first.setdefault(e.request_id, now - start)
                last[e.request_id] = now - start
    total = time.perf_counter() - start
    gaps = [(last[i] - first[i]) / max(new_tokens - 1, 1) for i in first]
    return {"total_s": total, "tokens": tokens, "ttft_ms": statistics.mean(first.values()) * 1e3,
            "inter_token_ms": statistics.mean(gaps) * 1e3}


def run_module(module, rows, pad_id, device) -> dict:
    from pipeline_lib.lm.validate import left_pad

    ids, mask = left_pad(rows, pad_id)
    ids, mask = ids.to(device), mask.to(device)
    start = time.perf_counter()
    with torch.inference_mode(), torch.jit.optimized_execution(False):
        out_ids, out_len, _ = module(ids, mask)
    sync(device)
    total = time.perf_counter() - start
    return {"total_s": total, "tokens": int(out_len.sum())}


def measure(args) -> list[dict]:
    from transformers import AutoTokenizer

    from pipeline_lib.checkpoints import ensure_demo_checkpoint
    from pipeline_lib.engine import Engine, EngineSettings
    from pipeline_lib.lm.decode import PixelLM
    from pipeline_lib.lm.loader import load_checkpoint

    from pipeline_lib.lm.model import ModelArgs, Transformer

    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[args.dtype]
    if args.preset:
        torch.manual_seed(0)
        tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
        model = Transformer(ModelArgs.from_name(args.preset))
    else:
        checkpoint = Path(args.checkpoint) if args.checkpoint else ensure_demo_checkpoint()
        tokenizer = AutoTokenizer.from_pretrained(checkpoint)
        model = load_checkpoint(checkpoint).model
    model = model.cast_weights(dtype).to(args.device)
    if args.device == "cpu" and dtype == torch.float32:
        model.use_cpu_layout()
    max_c = max(args.concurrency)
    settings = EngineSettings(n_slots=max(max_c, args.slots), max_seq_len=args.max_seq_len,
                              prefill_chunk=args.prefill_chunk,
                              step_token_budget=args.step_token_budget,
                              prefill_per_row=args.prefill_per_row)
    engine = Engine(model, settings, stop_ids=[], device=args.device, torchscript=not args.eager)
    module = torch.jit.script(PixelLM(model, max_new_tokens=args.new_tokens, stop_ids=[],
                                      pad_id=0, max_seq_len=args.max_seq_len).eval())
    results = []
    for c in args.concurrency:
        rows, prefix_len = prompts(tokenizer, c)
        runners = {
            "engine": lambda: run_engine(engine, rows, prefix_len, args.new_tokens),
            "run_to_completion": lambda: run_module(module, rows, 0, args.device),
        }
        for fn in runners.values():  # warm-up (also fills the prefix cache, as in service)
            fn()
        runs: dict[str, list[dict]] = {name: [] for name in runners}
        for _ in range(args.repeats):
            for name, fn in runners.items():
                runs[name].append(fn())
        for name, rs in runs.items():
            best = min(rs, key=lambda r: r["total_s"])
            row = {"runtime": name, "concurrency": c, "new_tokens": args.new_tokens,
                   "prompt_tokens_mean": round(statistics.mean(map(len, rows)), 1),
                   "tokens_per_s": round(best["tokens"] / best["total_s"], 1),
                   "median_tokens_per_s": round(
                       best["tokens"] / statistics.median(r["total_s"] for r in rs), 1),
                   "total_s": round(best["total_s"], 3)}
            if name == "engine":
                row["ttft_ms"] = round(best["ttft_ms"], 1)
                row["inter_token_ms"] = round(best["inter_token_ms"], 1)
            results.append(row)
            print(row, flush=True)
    stats = engine.stats()
    print({k: stats[k] for k in ("prefix_hits", "prefill_tokens_saved",
                                 "prefill_tokens_computed")})
    return results


def write_results(rows: list[dict], out: Path, device: str, note: str, suffix: str = "") -> None:
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"engine_speed_{device.split(':')[0]}{suffix}"
    fields = list(dict.fromkeys(k for r in rows for k in r))
    with open(f"{stem}.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    lines = [f"# Engine speed ({device})", "", note, "", "| " + " | ".join(fields) + " |",
             "|" + "---|" * len(fields)]
    lines += ["| " + " | ".join(str(r.get(k, "")) for k in fields) + " |" for r in rows]
    Path(f"{stem}.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--concurrency", default="1,4,8",
                        type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--slots", type=int, default=8)
    parser.add_argument("--max-seq-len", type=int, default=512)
    parser.add_argument("--prefill-chunk", type=int, default=128)
    parser.add_argument("--step-token-budget", type=int, default=96,
                        help="tokens per step while rows decode (configs/lm/engine.yaml's default)")
    parser.add_argument("--prefill-per-row", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--checkpoint", default=None, help="HF folder (default: the demo model)")
    parser.add_argument("--preset", default=None,
                        help="random weights of a ModelArgs preset (timings only; needs --tokenizer)")
    parser.add_argument("--tokenizer", default=None, help="tokenizer folder for --preset")
    parser.add_argument("--dtype", default="fp32", choices=["fp32", "bf16", "fp16"])
    parser.add_argument("--eager", action="store_true",
                        help="run the engine's model eager instead of TorchScript-compiled")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "engine")
    args = parser.parse_args()
    if args.preset and not args.tokenizer:
        parser.error("--preset needs --tokenizer (a folder with tokenizer.json)")
    if args.threads:
        torch.set_num_threads(args.threads)
    load_before = os.getloadavg()[0]
    rows = measure(args)
    weights = (f"random weights of preset {args.preset} (timings only)" if args.preset
               else "the checkpoint's weights")
    device = (torch.cuda.get_device_name() if args.device.startswith("cuda") else "CPU")
    note = (f"{device}, {args.dtype}, {weights}. Engine: prefill_chunk {args.prefill_chunk}, "
            f"step_token_budget {args.step_token_budget}, prefill_per_row {args.prefill_per_row}. Greedy, {args.new_tokens} new tokens per request (stop tokens off), chat prompts "
            f"with a shared system prompt; best of {args.repeats} (median beside it). torch "
            f"{torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs; "
            f"1-min load before/after {load_before:.2f}/{os.getloadavg()[0]:.2f} (shared machine).")
    suffix = ("" if args.dtype == "fp32" else f"_{args.dtype}") + ("_eager" if args.eager else "")
    if args.preset and args.preset != "smollm2-135m":
        suffix += f"_{args.preset}"
    write_results(rows, args.out, args.device, note + (" Engine eager." if args.eager else ""),
                  suffix)
    print(note)


if __name__ == "__main__":
    main()
