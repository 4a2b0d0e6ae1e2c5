"""LM speed: our decoder (eager and TorchScript) vs Hugging Face `generate` on the demo model.

Same prompts, greedy, same number of new tokens for every runtime (stop tokens off, so every row
generates exactly --new-tokens), one warm-up then one timed run per point, all in one process.
Reports time to first token (prefill + one token), tokens/s, decode tokens/s, the weight+KV bytes
read per decode step over the step time (GB/s) and, on a GPU, that as a share of peak bandwidth.

    .venv/bin/python benchmarks/lm_speed.py                      # CPU: fp32 + bf16, batch 1 and 8
    .venv/bin/python benchmarks/lm_speed.py --dtypes fp32 --quantize int8,int4 --no-eager \
        --stem lm_speed_cpu_quantized                           # + weight-only int8/int4 rows
    python benchmarks/lm_speed.py --device cuda --dtypes bf16 --batches 1,8,16   # GPU machine

On CPU the machine's memory bandwidth is measured in the same run (a 2-thread sum over 1 GB) and
each row's GB/s is also given as a share of it (`bandwidth_utilisation`; measured before and after
the runs, the higher kept); on a GPU the share is of
the data-sheet peak.

Writes <out>/lm_speed_<device>.csv, .md and .png.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import warnings
from pathlib import Path

import torch

warnings.filterwarnings("ignore", category=DeprecationWarning)

PROMPTS = [  # synthetic support-style prompts; 16 so the largest GPU batch has distinct rows
    "I've been feeling really anxious about work lately and can't sleep.",
    "Can you explain what a panic attack is?",
    "My friend stopped talking to me and I don't know why.",
    "How do I tell my parents that I'm struggling at school?",
    "I keep replaying an argument with my sister and feel guilty.",
    "What are some ways to calm down before an exam?",
    "I moved to a new city and I feel lonely most evenings.",
    "Is it normal to feel tired all the time after a breakup?",
    "My manager criticised me in front of everyone today.",
    "How can I support a friend who is grieving?",
    "I procrastinate on everything and then hate myself for it.",
    "What is the difference between sadness and depression?",
    "I get nervous every time I have to speak in a meeting.",
    "My partner and I argue about money constantly.",
    "I can't stop checking my phone late at night.",
    "How do I set boundaries with a coworker who overshares?",
]
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
# Peak memory bandwidth (GB/s) by device-name fragment, from the vendors' data sheets.
PEAK_GBPS = {"H200": 4800.0, "H100 SXM": 3350.0, "H100 80GB HBM3": 3350.0, "H100 PCIe": 2000.0,
             "H100": 3350.0, "A100-SXM4-80GB": 2039.0, "A100": 1555.0}


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def batch_for(tokenizer, batch: int, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    from pipeline_lib.lm.validate import left_pad

    rows = []
    for text in (PROMPTS * ((batch // len(PROMPTS)) + 1))[:batch]:
        chat = tokenizer.apply_chat_template([{"role": "user", "content": text}],
                                             add_generation_prompt=True, tokenize=False)
        rows.append(tokenizer(chat, add_special_tokens=False)["input_ids"])
    ids, mask = left_pad(rows, tokenizer.pad_token_id)
    return ids.to(device), mask.to(device)


def timed(fn, device: str) -> tuple[float, object]:
    sync(device)
    start = time.perf_counter()
    out = fn()
    sync(device)
    return time.perf_counter() - start, out


def bytes_per_step(model, batch: int, kv_len: int) -> int:
    """Bytes a decode step must read: every weight once (quantized: the packed weights and their
    scales; the embedding table only as a tied LM head), plus the KV cache up to kv_len."""
    from pipeline_lib.lm.quant import weight_bytes

    layer0 = model.layers[0].attention
    kv = 2 * len(model.layers) * batch * layer0.n_kv * kv_len * layer0.head_dim
    return weight_bytes(model) + kv * model.norm.weight.element_size()


def cpu_bandwidth_gbps(gigabytes: float = 1.0, repeats: int = 5) -> float:
    """Read bandwidth of this machine now: the fastest of a few multi-threaded sums over a
    buffer far larger than the caches (what a decode step's weight streaming can reach)."""
    x = torch.ones(int(gigabytes * 1e9 / 4))
    x.sum()
    best = min(timed(x.sum, "cpu")[0] for _ in range(repeats))
    del x
    return gigabytes / best


def runtimes(checkpoint: Path, dtype: torch.dtype, device: str, new_tokens: int,
             quantize: list[str], eager_too: bool, group_size: int):
    """name -> (generate(ids, mask, n_new) -> [B, n_new] tokens, our Transformer or None)."""
    from transformers import AutoModelForCausalLM

    from pipeline_lib.lm.decode import PixelLM
    from pipeline_lib.lm.loader import load_checkpoint
    from pipeline_lib.lm.quant import QuantSpec, quantize_model

    ours = load_checkpoint(checkpoint, dtype=dtype).model.to(device)
    quantized = {}
    for scheme in quantize:  # as `pixel export --quantize` builds them (LM head int8)
        model = load_checkpoint(checkpoint, dtype=dtype).model
        quantized[scheme] = quantize_model(model, QuantSpec(scheme, group_size, "int8")).eval()
    if device == "cpu":
        ours.use_cpu_layout()  # as `pixel export` does for a CPU file (fp32 only)
    hf = AutoModelForCausalLM.from_pretrained(checkpoint, dtype=dtype).to(device).eval()
    max_seq_len = 1024

    def module(n: int, script: bool, model=ours):
        lm = PixelLM(model, max_new_tokens=n, stop_ids=[], pad_id=0,
                     max_seq_len=max_seq_len).eval()
        return torch.jit.script(lm) if script else lm

    eager = {n: module(n, False) for n in (1, new_tokens)}
    scripted = {n: module(n, True) for n in (1, new_tokens)}
    scripted_quantized = {scheme: {n: module(n, True, m) for n in (1, new_tokens)}
                          for scheme, m in quantized.items()}

    def run_ours(table):
        def run(ids, mask, n):
            with torch.inference_mode(), torch.jit.optimized_execution(False):
                return table[n](ids, mask)[0]
        return run

    def run_hf(ids, mask, n):
        with torch.inference_mode():
            out = hf.generate(ids, attention_mask=mask, max_new_tokens=n, min_new_tokens=n,
                              do_sample=False, pad_token_id=0)
        return out[:, ids.shape[1]:]

    table = {"hf_generate": (run_hf, None)}
    if eager_too:
        table["ours_eager"] = (run_ours(eager), ours)
    table["ours_torchscript"] = (run_ours(scripted), ours)
    for scheme, modules in scripted_quantized.items():
        table[f"ours_torchscript_{scheme}"] = (run_ours(modules), quantized[scheme])
    return table


def summarise(name, model, runs, outputs, ids, batch, dtype_name, args, peak) -> dict:
    ttft = min(r[0] for r in runs)
    total = min(r[1] for r in runs)
    median_total = statistics.median(r[1] for r in runs)
    decode_s = total - ttft if total > ttft else None  # None: load made the split meaningless
    row = {"runtime": name, "device": args.device, "dtype": dtype_name, "batch": batch,
           "prompt_tokens": ids.shape[1], "new_tokens": args.new_tokens, "repeats": len(runs),
           "ttft_ms": round(ttft * 1e3, 1), "total_s": round(total, 3),
           "tokens_per_s": round(batch * args.new_tokens / total, 1),
           "median_tokens_per_s": round(batch * args.new_tokens / median_total, 1),
           "decode_tokens_per_s": (round(batch * (args.new_tokens - 1) / decode_s, 1)
                                   if decode_s else None),
           "same_tokens_as_hf": bool(torch.equal(outputs[name], outputs["hf_generate"])),
           # quantized rows: generated tokens equal to HF's before the first difference, summed
           "same_prefix_tokens_as_hf": int(sum(
               next((j for j, (a, b) in enumerate(zip(ours_row, ref_row)) if a != b),
                    len(ref_row))
               for ours_row, ref_row in zip(outputs[name].tolist(),
                                            outputs["hf_generate"].tolist()))),
           "load_avg_1m": round(os.getloadavg()[0], 2)}
    if model is not None and decode_s:
        kv_len = ids.shape[1] + args.new_tokens // 2  # mean cache length over the decode
        step_s = decode_s / (args.new_tokens - 1)
        step_bytes = bytes_per_step(model, batch, kv_len)
        row["MB_per_step"] = round(step_bytes / 1e6, 1)
        row["achieved_GBps"] = round(step_bytes / step_s / 1e9, 1)
        if peak:
            row["bandwidth_utilisation"] = round(row["achieved_GBps"] / peak, 3)
    return row


def measure(args) -> list[dict]:
    from transformers import AutoTokenizer

    from pipeline_lib.checkpoints import ensure_demo_checkpoint

    checkpoint = Path(args.checkpoint) if args.checkpoint else ensure_demo_checkpoint()
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    device_name = (torch.cuda.get_device_name() if args.device.startswith("cuda")
                   else cpu_name())
    peak = args.peak_gbps or next((v for k, v in PEAK_GBPS.items() if k in device_name), None)
    if peak is None and args.device == "cpu":
        peak = args.measured_gbps = round(cpu_bandwidth_gbps(), 1)  # again at the end: the max
    rows = []
    for dtype_name in args.dtypes.split(","):
        quantize = [q for q in args.quantize.split(",") if q] if dtype_name == "fp32" else []
        table = runtimes(checkpoint, DTYPES[dtype_name], args.device, args.new_tokens, quantize,
                         not args.no_eager, args.group_size)
        for batch in [int(b) for b in args.batches.split(",")]:
            ids, mask = batch_for(tokenizer, batch, args.device)
            for generate, _ in table.values():  # warm-up: allocator, kernels, TorchScript
                generate(ids, mask, 1)
                generate(ids, mask, args.new_tokens)
            # Repeats go round-robin over the runtimes so outside load hits them alike; outside
            # load only ever adds time, so the fastest repeat is the headline and the median is
            # kept beside it.
            runs: dict[str, list[tuple[float, float]]] = {name: [] for name in table}
            outputs: dict[str, torch.Tensor] = {}
            for _ in range(args.repeats):
                for name, (generate, _) in table.items():
                    ttft, _ = timed(lambda: generate(ids, mask, 1), args.device)
                    total, tokens = timed(lambda: generate(ids, mask, args.new_tokens), args.device)
                    runs[name].append((ttft, total))
                    outputs[name] = tokens.cpu()
            for name, (_, model) in table.items():
                rows.append(summarise(name, model, runs[name], outputs, ids, batch, dtype_name,
                                      args, peak))
                print({k: rows[-1][k] for k in ("runtime", "dtype", "batch", "ttft_ms",
                                                "tokens_per_s", "same_tokens_as_hf")}, flush=True)
        del table
    for row in rows:
        hf_row = next(r for r in rows if r["runtime"] == "hf_generate"
                      and r["dtype"] == row["dtype"] and r["batch"] == row["batch"])
        row["speedup_vs_hf"] = round(row["tokens_per_s"] / hf_row["tokens_per_s"], 2)
        fp32_hf = next((r for r in rows if r["runtime"] == "hf_generate" and r["dtype"] == "fp32"
                        and r["batch"] == row["batch"]), None)
        if fp32_hf is not None:  # HF's default precision: what a user gets without us
            row["speedup_vs_hf_fp32"] = round(row["tokens_per_s"] / fp32_hf["tokens_per_s"], 2)
        ours_fp32 = next((r for r in rows if r["runtime"] == "ours_torchscript"
                          and r["dtype"] == "fp32" and r["batch"] == row["batch"]), None)
        if ours_fp32 is not None and row["runtime"] != "hf_generate":
            row["speedup_vs_ours_fp32"] = round(row["tokens_per_s"] / ours_fp32["tokens_per_s"], 2)
            if row["decode_tokens_per_s"] and ours_fp32["decode_tokens_per_s"]:
                row["decode_speedup_vs_ours_fp32"] = round(
                    row["decode_tokens_per_s"] / ours_fp32["decode_tokens_per_s"], 2)
        if fp32_hf is not None and row["decode_tokens_per_s"] and fp32_hf["decode_tokens_per_s"]:
            row["decode_speedup_vs_hf_fp32"] = round(
                row["decode_tokens_per_s"] / fp32_hf["decode_tokens_per_s"], 2)
        row["device_name"] = device_name
    return rows


def main() -> None:
    try:
        from benchmarks.lm_speed_report import write_results
    except ImportError:  # run as a script (make bench-lm): benchmarks/ is sys.path[0]
        from lm_speed_report import write_results

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtypes", default="fp32,bf16")
    parser.add_argument("--batches", default="1,8")
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per point (best kept)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (CPU)")
    parser.add_argument("--checkpoint", default=None, help="HF folder (default: the demo model)")
    parser.add_argument("--peak-gbps", type=float, default=None,
                        help="override peak bandwidth (CPU default: measured in the run)")
    parser.add_argument("--quantize", default="",
                        help="comma list of int8,int4: weight-only quantized rows (fp32, CPU)")
    parser.add_argument("--group-size", type=int, default=32, help="int4 group size")
    parser.add_argument("--no-eager", action="store_true", help="skip the eager-module rows")
    parser.add_argument("--stem", default=None,
                        help="result file name without extension (default lm_speed_<device>)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "lm")
    args = parser.parse_args()
    args.measured_gbps = None
    if args.threads:
        torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    rows = measure(args)
    if args.measured_gbps:  # outside load only lowers it: keep the better of before and after
        args.measured_gbps = max(args.measured_gbps, round(cpu_bandwidth_gbps(), 1))
        for row in rows:
            if row.get("achieved_GBps"):
                row["bandwidth_utilisation"] = round(row["achieved_GBps"] / args.measured_gbps, 3)
    load_after = os.getloadavg()
    note = (f"One process; per point one warm-up, then {args.repeats} timed runs taken round-robin "
            f"over the runtimes, the fastest reported (median beside it); greedy, "
            f"{args.new_tokens} new tokens per row (stop tokens off), same left-padded chat "
            f"prompts. torch {torch.__version__}, {torch.get_num_threads()} threads, "
            f"{os.cpu_count()} CPUs. 1-min load average before/after: {load_before[0]:.2f} / "
            f"{load_after[0]:.2f} (other jobs share this machine)."
            + (f" Measured read bandwidth of this machine in this run: {args.measured_gbps} GB/s "
               "(bandwidth_utilisation is achieved_GBps over it)." if args.measured_gbps else ""))
    write_results(rows, args.out, args.device, note,
                  args.stem or f"lm_speed_{args.device.split(':')[0]}")
    print(note)


if __name__ == "__main__":
    main()
