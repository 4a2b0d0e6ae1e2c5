"""Quality gates for a quantized export, measured against the fp32 Hugging Face reference.

A quantized file cannot match fp32 logits to 1e-3, so it is held to what a user would notice:

- teacher-forced top-1 agreement: along a fixed token sequence, how often the file's most likely
  next token is the reference's. Sequences: each validation prompt followed by the reference's own
  greedy reply, and the paragraphs of `data/lm/quality_text.md` (written for this, no user data).
  Each of the two sets must reach `MIN_TOP1_AGREEMENT`.
- perplexity ratio on the paragraphs: the file's perplexity over the reference's, at most
  `MAX_PERPLEXITY_RATIO`.
- greedy prefix agreement (reported, not gated): how many of the reference's greedy tokens the
  file reproduces before the first difference. Greedy paths part at the first near-tie, after
  which the two replies are different but not worse, so this is information, not a gate.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import torch

from pipeline_lib.checkpoints import project_root
from pipeline_lib.lm.validate import hf_greedy, left_pad

MIN_TOP1_AGREEMENT = 0.95
MAX_PERPLEXITY_RATIO = 1.05


def quality_text_path():
    return project_root() / "data" / "lm" / "quality_text.md"


def quality_paragraphs() -> list[str]:
    """The paragraphs after the `## Paragraphs` heading, one string each."""
    text = quality_text_path().read_text(encoding="utf-8").split("## Paragraphs", 1)[1]
    return [" ".join(p.split()) for p in text.split("\n\n") if p.strip()]


def _scores(logits: torch.Tensor, reference: torch.Tensor, targets: torch.Tensor):
    """-> (agreeing top-1 count, our NLL sum, reference NLL sum) over next-token positions."""
    agree = int((logits.argmax(-1) == reference.argmax(-1)).sum())
    nll = torch.nn.functional.cross_entropy(logits, targets, reduction="sum").item()
    ref_nll = torch.nn.functional.cross_entropy(reference, targets, reduction="sum").item()
    return agree, nll, ref_nll


def _teacher_forced(artifact, hf_model, sequences: list[list[int]], starts: list[int],
                    pad_id: int) -> dict[str, Any]:
    """Top-1 agreement and NLL of positions [start, len-1) of each sequence (predicting the
    token after each), the artifact run as one left-padded batch, the reference row by row."""
    ids, mask = left_pad(sequences, pad_id)
    ours = artifact.prompt_logits(ids, mask)
    agree = positions = 0
    nll = ref_nll = 0.0
    for i, seq in enumerate(sequences):
        ref = hf_model(torch.tensor([seq])).logits[0].float()
        offset = ids.shape[1] - len(seq)
        span = slice(starts[i], len(seq) - 1)
        targets = torch.tensor(seq[starts[i] + 1:])
        a, n, r = _scores(ours[i, offset:][span], ref[span], targets)
        agree, nll, ref_nll = agree + a, nll + n, ref_nll + r
        positions += len(targets)
    return {"positions": positions, "top1_agreement": agree / max(positions, 1),
            "perplexity": math.exp(nll / max(positions, 1)),
            "reference_perplexity": math.exp(ref_nll / max(positions, 1))}


def quality_gates(artifact, hf_model, tokenizer, rows: list[list[int]], *, max_new_tokens: int,
                  stop_ids: list[int], pad_id: int,
                  min_top1_agreement: float = MIN_TOP1_AGREEMENT,
                  max_perplexity_ratio: float = MAX_PERPLEXITY_RATIO,
                  progress: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Run the gates on a loaded quantized PixelLM (greedy) against `hf_model` (fp32)."""
    report: dict[str, Any] = {"min_top1_agreement": min_top1_agreement,
                              "max_perplexity_ratio": max_perplexity_ratio, "greedy": []}
    with torch.inference_mode(), torch.jit.optimized_execution(False):
        progress("quality: reference greedy replies")
        replies = [hf_greedy(hf_model, row, max_new_tokens=max_new_tokens, stop_ids=stop_ids,
                             pad_id=pad_id) for row in rows]
        progress("quality: teacher-forced agreement on the validation prompts")
        report["prompts"] = _teacher_forced(artifact, hf_model,
                                            [r + reply for r, reply in zip(rows, replies)],
                                            [len(r) - 1 for r in rows], pad_id)
        progress("quality: teacher-forced agreement and perplexity on the quality text")
        paragraphs = [tokenizer(p, add_special_tokens=False)["input_ids"]
                      for p in quality_paragraphs()]
        report["text"] = _teacher_forced(artifact, hf_model, paragraphs, [0] * len(paragraphs),
                                         pad_id)
        progress("quality: greedy replies of the quantized file")
        ids, mask = left_pad(rows, pad_id)
        out_ids, out_len, _ = artifact(ids, mask)
    for i, reply in enumerate(replies):
        ours = out_ids[i, : int(out_len[i, 0])].tolist()
        same = next((j for j, (a, b) in enumerate(zip(ours, reply)) if a != b),
                    min(len(ours), len(reply)))
        report["greedy"].append({"reference_tokens": len(reply), "tokens": len(ours),
                                 "same_prefix": same, "identical": ours == reply})
    text = report["text"]
    text["perplexity_ratio"] = text["perplexity"] / text["reference_perplexity"]
    report["greedy_prefix_agreement"] = (sum(g["same_prefix"] for g in report["greedy"])
                                         / max(sum(g["reference_tokens"] for g in report["greedy"]),
                                               1))
    failures = [f"top-1 agreement on the {name} {report[key]['top1_agreement']:.3f} < "
                f"{min_top1_agreement}" for key, name in (("prompts", "validation prompts"),
                                                        ("text", "quality text"))
                if report[key]["top1_agreement"] < min_top1_agreement]
    if text["perplexity_ratio"] > max_perplexity_ratio:
        failures.append(f"perplexity ratio {text['perplexity_ratio']:.3f} > "
                        f"{max_perplexity_ratio}")
    report["failures"] = failures
    report["passed"] = not failures
    return report
