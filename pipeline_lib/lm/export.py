"""Checkpoint -> validated TorchScript `model.pt` + tokenizer + metadata, installed atomically.

Everything is written to a temporary folder beside the destination; the destination is replaced
only after the saved file, loaded back, passed validation against Hugging Face. A failed export
leaves the destination untouched and writes its report to `<out>.validation-failed.json`.

`model.pt` carries `metadata.json` inside the archive too (TorchScript extra file), so a runner that
sees only the file (a symlink in a model repository) still knows its settings.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

from pipeline_lib.errors import PixelError
from pipeline_lib.lm.decode import PixelLM
from pipeline_lib.lm.loader import LoadedCheckpoint, load_checkpoint
from pipeline_lib.lm.quality import MAX_PERPLEXITY_RATIO, MIN_TOP1_AGREEMENT, quality_gates
from pipeline_lib.lm.quant import SCHEMES, QuantSpec, quantize_model
from pipeline_lib.lm.validate import encode_prompts, validate

log = logging.getLogger(__name__)

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
FORMAT_VERSION = 2  # 2: fp32 CPU exports store matrices column-major (weight_layout)
INPUT_NAMES = ("input_ids", "attention_mask")
OUTPUT_NAMES = ("output_ids", "output_length", "pooled_hidden")  # tuple order = config order


class ExportValidationError(PixelError):
    """The exported module disagrees with Hugging Face (or a quantized one fails its quality
    gates); nothing was installed."""


@dataclass
class ExportOptions:
    checkpoint: str | Path = "demo"
    out: Path | None = None  # default: the state dir's exports/default (where the renderer looks)
    adapter: Path | None = None
    dtype: str = "fp32"
    device: str = "cpu"
    max_new_tokens: int = 64
    max_seq_len: int | None = None  # default: the checkpoint's context length
    temperature: float = 0.0  # 0 = greedy
    top_p: float = 1.0
    seed: int = 0
    quantize: str = "none"  # none | int8 | int4: weight-only quantized layers (quant.py)
    group_size: int = 32  # int4: inputs per scale/zero group
    quantize_head: str = "int8"  # the LM head when quantizing: int8 | int4 | none (fp32)
    min_top1_agreement: float = MIN_TOP1_AGREEMENT  # quality gates of a quantized file
    max_perplexity_ratio: float = MAX_PERPLEXITY_RATIO
    extra_metadata: dict = field(default_factory=dict)


def default_out_dir() -> Path:
    from pipeline_lib.checkpoints import state_dir

    return state_dir() / "exports" / "default"


def resolve_checkpoint(spec: str | Path) -> Path:
    if str(spec) == "demo":
        from pipeline_lib.checkpoints import ensure_demo_checkpoint

        return ensure_demo_checkpoint()
    return Path(spec).expanduser()


def stop_and_pad_ids(ck: LoadedCheckpoint, tokenizer) -> tuple[list[int], int]:
    """Stop ids: every EOS id the config, the generation config and the tokenizer name."""
    ids: list[int] = []
    sources = [ck.hf_config.get("eos_token_id"), getattr(tokenizer, "eos_token_id", None)]
    gen_cfg = ck.tokenizer_dir / "generation_config.json"
    if gen_cfg.is_file():
        sources.insert(0, json.loads(gen_cfg.read_text()).get("eos_token_id"))
    for value in sources:
        for i in value if isinstance(value, list) else [value]:
            if isinstance(i, int) and i not in ids:
                ids.append(i)
    pad = ck.hf_config.get("pad_token_id")
    if pad is None:
        pad = getattr(tokenizer, "pad_token_id", None)
    if pad is None:
        pad = ids[0] if ids else 0
    return ids, int(pad)


def _load_tokenizer(ck: LoadedCheckpoint):
    from transformers import AutoTokenizer

    if ck.gguf_file:
        return AutoTokenizer.from_pretrained(ck.tokenizer_dir, gguf_file=ck.gguf_file)
    return AutoTokenizer.from_pretrained(ck.tokenizer_dir)


def _load_reference(folder: Path, gguf_file: str | None, adapter: Path | None,
                    dtype: torch.dtype, device: str):
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {"dtype": dtype}
    if gguf_file:
        kwargs["gguf_file"] = gguf_file
    hf = AutoModelForCausalLM.from_pretrained(folder, **kwargs)
    if adapter is not None:
        from peft import PeftModel  # optional dependency: the `lora` extra

        hf = PeftModel.from_pretrained(hf, str(adapter)).merge_and_unload()
    return hf.to(device).eval()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _install(tmp: Path, out: Path) -> None:
    old = out.with_name(out.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if out.exists():
        out.rename(old)
    tmp.rename(out)
    if old.exists():
        shutil.rmtree(old)


def export(options: ExportOptions, progress: Callable[[str], None] = lambda _: None) -> dict:
    """Run the whole export; return the validation report. Raises PixelError on any failure."""
    if options.dtype not in DTYPES:
        raise PixelError(f"--dtype: {options.dtype!r} is not one of {', '.join(DTYPES)}")
    if options.device.startswith("cuda") and not torch.cuda.is_available():
        raise PixelError("--device cuda: no CUDA device here; export on CPU (the file runs on GPU)")
    if options.quantize not in SCHEMES:
        raise PixelError(f"--quantize: {options.quantize!r} is not one of {', '.join(SCHEMES)}")
    quantized = options.quantize != "none"
    if quantized and (options.dtype != "fp32" or options.device != "cpu"):
        raise PixelError("--quantize needs --dtype fp32 --device cpu: the int8/int4 kernels are "
                         "CPU ones and keep fp32 activations outside the matmuls; for a GPU "
                         "export use --dtype bf16 without --quantize")
    spec = QuantSpec(options.quantize, options.group_size, options.quantize_head)
    out = Path(options.out or default_out_dir())
    dtype = DTYPES[options.dtype]
    progress("loading checkpoint")
    ck = load_checkpoint(resolve_checkpoint(options.checkpoint), adapter=options.adapter,
                         dtype=dtype)
    if quantized:
        progress(f"quantizing ({options.quantize})")
        quantize_model(ck.model, spec)  # raises naming the flag when it cannot apply
    if options.device == "cpu":
        ck.model.use_cpu_layout()  # fp32 only: faster batch-1 decode on CPU, same numbers
    layout = "column_major" if options.device == "cpu" and options.dtype == "fp32" else "row_major"
    tokenizer = _load_tokenizer(ck)
    stop_ids, pad_id = stop_and_pad_ids(ck, tokenizer)
    context = ck.args.max_position_embeddings  # a sliding window is applied by the model
    max_seq_len = options.max_seq_len or context
    if max_seq_len > context:
        raise PixelError(f"--max-seq-len {max_seq_len} exceeds the checkpoint's context {context}")
    if options.max_new_tokens < 1 or options.max_new_tokens >= max_seq_len:
        raise PixelError(f"--max-new-tokens must be in [1, {max_seq_len - 1}]")
    metadata = {
        "format_version": FORMAT_VERSION, "architecture": ck.args.architecture,
        "source": str(ck.source), "adapter": str(options.adapter) if options.adapter else None,
        "dtype": options.dtype, "device": options.device, "weight_layout": layout,
        "max_new_tokens": options.max_new_tokens, "max_seq_len": max_seq_len,
        "stop_ids": stop_ids, "pad_id": pad_id, "temperature": options.temperature,
        "top_p": options.top_p, "seed": options.seed, "hidden_size": ck.args.dim,
        "vocab_size": ck.args.vocab_size, "inputs": list(INPUT_NAMES),
        "outputs": list(OUTPUT_NAMES), "model_args": asdict(ck.args),
        "quantization": spec.as_metadata() if quantized else None,
        "torch_version": torch.__version__, "created_unix": int(time.time()),
        **options.extra_metadata,
    }
    module = PixelLM(ck.model, max_new_tokens=options.max_new_tokens, stop_ids=stop_ids,
                     pad_id=pad_id, max_seq_len=max_seq_len, temperature=options.temperature,
                     top_p=options.top_p, seed=options.seed).to(options.device).eval()
    tmp = out.with_name(out.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        progress("scripting (TorchScript)")
        with warnings.catch_warnings():
            # TorchScript is deprecated upstream but is what the LibTorch backend loads.
            warnings.simplefilter("ignore", DeprecationWarning)
            scripted = torch.jit.script(module)
            torch.jit.save(scripted, str(tmp / "model.pt"),
                           _extra_files={"metadata.json": json.dumps(metadata)})
            artifact = torch.jit.load(str(tmp / "model.pt"), map_location=options.device)
        folder, gguf_file = ck.tokenizer_dir, ck.gguf_file
        del module, scripted, ck  # keep one copy of the weights in memory, not three
        progress("loading the Hugging Face reference")
        reference = _load_reference(folder, gguf_file, options.adapter, dtype, options.device)
        artifact.temperature = 0.0  # parity is checked greedily; the file keeps its settings
        rows = encode_prompts(tokenizer)
        common = dict(max_new_tokens=options.max_new_tokens, stop_ids=stop_ids, pad_id=pad_id,
                      progress=progress)
        if quantized:  # its logits cannot match fp32 to 1e-3: held to the quality gates
            quality = quality_gates(artifact, reference, tokenizer, rows,
                                    min_top1_agreement=options.min_top1_agreement,
                                    max_perplexity_ratio=options.max_perplexity_ratio, **common)
            report = {"dtype": options.dtype, "prompts": len(rows),
                      "quantization": spec.as_metadata(), "quality": quality,
                      "passed": quality["passed"]}
        elif options.dtype == "fp32":
            report = validate(artifact, reference, rows, dtype="fp32", **common)
        else:
            # The file as it will run, against HF in the same dtype ...
            native = validate(artifact, reference, rows, dtype=options.dtype, **common)
            # ... then the exact check on the saved graph and its rounded weights, both upcast to
            # fp32 (in this order: casting HF back down would also round its fp32 RoPE buffer).
            progress("fp32 upcast check")
            upcast = torch.jit.load(str(tmp / "model.pt"), map_location=options.device).float()
            upcast.temperature = 0.0
            exact = validate(upcast, reference.float(), rows, dtype="fp32", **common)
            del upcast
            report = {**native, "upcast_fp32": exact, "passed": exact["passed"] and native["passed"]}
        report["checkpoint"] = str(metadata["source"])
        if not report["passed"]:
            failed = out.with_name(out.name + ".validation-failed.json")
            failed.write_text(json.dumps(report, indent=2))
            if quantized:
                raise ExportValidationError(
                    f"the {options.quantize} file fails its quality gates against fp32 ("
                    + "; ".join(report["quality"]["failures"])
                    + f"); nothing installed at {out}. Try --quantize int8, a smaller "
                    f"--group-size or --quantize-head int8. Report: {failed}")
            exact = report.get("upcast_fp32", report)
            raise ExportValidationError(
                f"the exported module disagrees with Hugging Face (max abs logit error "
                f"{exact['logits_max_abs_error']:.3g} in fp32, tolerance {exact['logit_tolerance']}; "
                f"greedy identical: {exact['greedy_identical']}"
                + ("" if exact is report else f"; {options.dtype}: max abs logit error "
                   f"{report['logits_max_abs_error']:.3g}, tolerance "
                   f"{report['logit_tolerance']:.3g}")
                + f"); nothing installed at {out}. Report: {failed}"
            )
        progress("writing tokenizer, metadata and report")
        tokenizer.save_pretrained(tmp)
        metadata["sha256"] = _sha256(tmp / "model.pt")
        (tmp / "metadata.json").write_text(json.dumps(metadata, indent=2))
        (tmp / "validation.json").write_text(json.dumps(report, indent=2))
        _install(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    report["out"] = str(out)
    return report

