"""`pixel train-scoring`: fit the scoring heads on the train split of data/scoring."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from pipeline_lib.scoring.encoder import TUNED_LAYERS
from pipeline_lib.scoring.heads import META_FILE


def default_out() -> Path:
    from pipeline_lib.checkpoints import state_dir

    return state_dir() / "scoring"


def run(args: argparse.Namespace) -> int:
    from pipeline_lib.scoring.train.training import train

    console = Console()
    with console.status("encoding the labelled set and fine-tuning the crisis classifier"):
        report = train(Path(args.out), data=Path(args.data) if args.data else None)
    best = report.best
    table = Table(title="pixel train-scoring", show_header=False)
    table.add_row("weights", str(report.out_dir))
    table.add_row("train messages / fine-tuning texts / reply pairs",
                  f"{report.n_messages} / {report.n_windows} / {report.n_pairs}")
    table.add_row("validation messages (selection split)", str(report.n_validation))
    table.add_row("fine-tuning epochs (chosen)", str(report.epoch))
    table.add_row("crisis rule", best.policy.rule + (
        f" (veto override at p >= {best.policy.veto_override})" if best.policy.veto_override else ""))
    table.add_row("crisis threshold / long-message / short-message (no cue)",
                  " / ".join("-" if t is None else f"{t:.4f}" for t in (
                      best.policy.threshold, best.policy.long_threshold, best.policy.short_threshold)))
    table.add_row("validation recall / precision (what chose it)",
                  f"{best.recall:.3f} / {best.precision:.3f}")
    table.add_row("validation: worst batch-v6..v12 category right", f"{best.worst_category:.3f}")
    blend = json.loads((report.out_dir / META_FILE).read_text()).get("crisis_blend", {})
    table.add_row("n-gram blend weight (chosen)", str(blend.get("ngram_weight", "-")))
    table.add_row("contract kept", str(best.kept))
    table.add_row("EQ ridge alpha", f"{report.eq_alpha}")
    table.add_row("seconds", f"{report.seconds:.1f}")
    console.print(table)
    return 0


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "train-scoring",
        help="fine-tune the crisis classifier, train the EQ / safety / bias heads (deterministic, "
        "a few minutes on one core)",
        description=f"Fine-tune the top {TUNED_LAYERS} layers of all-MiniLM-L6-v2 and a linear head as the crisis "
        "classifier and fit the reply heads on the train split of data/scoring, choose the epoch "
        "and the crisis policy (rule, veto override, thresholds) on the validation split, and write "
        "scoring_weights.safetensors and scoring_meta.json. The test split is never read. "
        "`--out data/scoring/weights` refreshes the committed copy `pixel prepare` uses.",
    )
    p.add_argument("--out", default=str(default_out()), help="output folder (default: %(default)s)")
    p.add_argument("--data", default=None, help="labelled-set folder (default: data/scoring)")
    p.set_defaults(func=run)
