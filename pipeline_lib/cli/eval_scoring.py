"""`pixel eval-scoring`: agreement with the test split, a confusion-matrix PNG and a metrics note."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table


def run(args: argparse.Namespace) -> int:
    from pipeline_lib.scoring import Scorer
    from pipeline_lib.scoring.train.evaluation import evaluate
    from pipeline_lib.scoring.train.report import kind_rows, metrics_markdown, write_confusion_png

    console = Console()
    model_dir = None if args.rules_only else Path(args.model_dir)
    with console.status("scoring the test split"):
        scorer = Scorer.load(model_dir)
        report = evaluate(scorer, data=Path(args.data) if args.data else None)
    mode = "trained heads" if report.trained else "rules only"
    crisis = Table(title=f"crisis on the test split ({report.n_messages} messages, {mode})")
    for col in ("method", "precision", "recall", "F1", "tp/fp/fn/tn"):
        crisis.add_column(col)
    rows = {"combined (served)": report.crisis, **report.crisis_parts,
            **{f"served rule, batch {b} only": m for b, m in report.crisis_by_batch.items()}}
    for name, m in rows.items():
        crisis.add_row(name, f"{m.precision:.3f}", f"{m.recall:.3f}", f"{m.f1:.3f}",
                       f"{m.tp}/{m.fp}/{m.fn}/{m.tn}")
    console.print(crisis)
    kinds = Table(title="crisis by category on the test split")
    for col in ("category", "crisis?", "messages", "recall / false-alarm rate", "right"):
        kinds.add_column(col)
    for _, row in kind_rows(report):
        kinds.add_row(*row)
    console.print(kinds)
    if report.selection:
        sel = report.selection
        console.print(f"chosen on the validation split ({sel.get('n_validation_messages')} messages): "
                      f"{sel.get('summary')}; validation recall {sel.get('validation_recall')} / "
                      f"precision {sel.get('validation_precision')}")
    scores = Table(title=f"EQ, safety, bias on the test split ({report.n_pairs} replies)")
    for col in ("score", "Spearman", "MAE / accuracy"):
        scores.add_column(col)
    for name, rho in report.eq_spearman.items():
        scores.add_row(f"EQ {name}", f"{rho:.3f}", f"MAE {report.eq_mae[name]:.3f}")
    scores.add_row("safety (reply)", f"{report.safety_spearman:.3f}", f"acc {report.safety.accuracy:.3f}")
    scores.add_row("bias", f"{report.bias_spearman:.3f}", f"acc {report.bias.accuracy:.3f}")
    wins, total = report.empathetic_beats_dismissive
    scores.add_row("empathetic > dismissive", "", f"{wins}/{total} = {wins / max(total, 1):.3f}")
    console.print(scores)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_confusion_png(report, out / "confusion.png")
    (out / "metrics.md").write_text(metrics_markdown(report))
    console.print(f"wrote {out / 'confusion.png'} and {out / 'metrics.md'}")
    return 0


def add_parser(subparsers) -> None:
    from pipeline_lib.checkpoints import project_root, state_dir

    p = subparsers.add_parser(
        "eval-scoring",
        help="precision/recall for crisis, Spearman/accuracy for EQ, safety, bias on the test split",
        description="Score the fixed test split of data/scoring (never trained on); print the "
        "figures, write a confusion-matrix PNG and a metrics markdown. No text is printed.",
    )
    p.add_argument("--model-dir", default=str(state_dir() / "scoring"),
                   help="weights from `pixel train-scoring` (default: %(default)s)")
    p.add_argument("--rules-only", action="store_true", help="evaluate the rules-only fallback")
    p.add_argument("--data", default=None, help="labelled-set folder (default: data/scoring)")
    p.add_argument("--out", default=str(project_root() / "benchmarks" / "results" / "scoring"),
                   help="where to write confusion.png and metrics.md (default: %(default)s)")
    p.set_defaults(func=run)
