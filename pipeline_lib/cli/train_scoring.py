"""`pixel train-scoring`: fit the scoring heads on the train split of data/scoring."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table


def default_out() -> Path:
    from pipeline_lib.checkpoints import state_dir

    return state_dir() / "scoring"


def run(args: argparse.Namespace) -> int:
    from pipeline_lib.scoring.training import train

    console = Console()
    with console.status("encoding the train split and fitting the heads"):
        report = train(Path(args.out), data=Path(args.data) if args.data else None)
    table = Table(title="pixel train-scoring", show_header=False)
    table.add_row("weights", str(report.out_dir))
    table.add_row("train messages / reply pairs", f"{report.n_messages} / {report.n_pairs}")
    table.add_row("validation messages (selection split)", str(report.n_validation))
    table.add_row("crisis model / C / cue weight",
                  f"{report.crisis_model} / {report.crisis_c} / {report.crisis_cue_weight}")
    table.add_row("fine-tuned crisis encoder: blend / epoch",
                  f"{report.crisis_blend} / {report.crisis_epochs}")
    table.add_row("crisis rule", report.crisis_rule + (
        f" (override at p >= {report.crisis_veto_override})" if report.crisis_veto_override else ""))
    table.add_row("crisis threshold", f"{report.crisis_threshold:.4f}")
    table.add_row("validation recall / precision (what chose it)",
                  f"{report.validation_recall:.3f} / {report.validation_precision:.3f}")
    table.add_row("out-of-fold recall / precision (train, optimistic)",
                  f"{report.oof_recall:.3f} / {report.oof_precision:.3f}")
    table.add_row("EQ ridge alpha", f"{report.eq_alpha}")
    table.add_row("seconds", f"{report.seconds:.1f}")
    console.print(table)
    return 0


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "train-scoring",
        help="fine-tune the crisis encoder, train the EQ / safety / bias heads (deterministic, "
        "~2.5 min on 2 cores)",
        description="Fine-tune all-MiniLM-L6-v2 as the crisis classifier and fit the scoring heads "
        "on the train split of data/scoring, choose the crisis model, epoch, blend, rule and threshold "
        "on the validation split (batches v3 + v5), and write crisis_encoder.safetensors, "
        "scoring_heads.safetensors and scoring_meta.json. The test split is never read.",
    )
    p.add_argument("--out", default=str(default_out()), help="output folder (default: %(default)s)")
    p.add_argument("--data", default=None, help="labelled-set folder (default: data/scoring)")
    p.set_defaults(func=run)
