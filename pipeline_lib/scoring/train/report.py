"""Eval outputs: the confusion-matrix PNG (crisis, safety, bias) and a metrics markdown note."""

from __future__ import annotations

from pathlib import Path

from pipeline_lib.scoring.train.evaluation import BinaryMetrics, EvalReport


def write_confusion_png(report: EvalReport, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("crisis (served rule)", report.crisis, ("not crisis", "crisis"))]
    if report.safety is not None:
        panels.append(("reply unsafe (<0.5)", _flip(report.safety), ("safe", "unsafe")))
    if report.bias is not None:
        panels.append(("reply biased (>=0.5)", report.bias, ("unbiased", "biased")))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4))
    for ax, (title, m, labels) in zip(axes, panels):
        grid = [[m.tn, m.fp], [m.fn, m.tp]]
        ax.imshow(grid, cmap="Blues")
        for i in range(2):
            for j in range(2):
                ax.text(j, i, str(grid[i][j]), ha="center", va="center", fontsize=14)
        ax.set_xticks([0, 1], labels)
        ax.set_yticks([0, 1], labels)
        ax.set_xlabel("predicted")
        ax.set_ylabel("labelled")
        ax.set_title(f"{title}\nP {m.precision:.2f}  R {m.recall:.2f}")
    fig.suptitle("pixel eval-scoring, test split" + ("" if report.trained else " (rules only)"))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _flip(m: BinaryMetrics) -> BinaryMetrics:
    """Safety is scored as 'safe'; the matrix shows 'unsafe' as the positive class."""
    return BinaryMetrics(tp=m.tn, fp=m.fn, fn=m.fp, tn=m.tp)


def metrics_markdown(report: EvalReport) -> str:
    mode = "trained heads" if report.trained else "rules only"
    lines = [
        f"# Scoring on the test split ({mode})",
        "",
        f"{report.n_messages} crisis-labelled messages, {report.n_pairs} labelled replies. "
        "Written by `pixel eval-scoring`.",
        "",
        "| crisis method | precision | recall | F1 | tp/fp/fn/tn |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, m in {"combined (served)": report.crisis, **report.crisis_parts}.items():
        lines.append(f"| {name} | {m.precision:.3f} | {m.recall:.3f} | {m.f1:.3f} | "
                     f"{m.tp}/{m.fp}/{m.fn}/{m.tn} |")
    for batch, m in report.crisis_by_batch.items():
        lines.append(f"| served rule, batch {batch} only | {m.precision:.3f} | {m.recall:.3f} | "
                     f"{m.f1:.3f} | {m.tp}/{m.fp}/{m.fn}/{m.tn} |")
    if report.selection:
        s = report.selection
        lines += ["", f"Chosen on the validation split ({s.get('n_validation_messages')} messages, "
                  f"batches v3, v5, v6-v12; never on test): {s.get('summary')}; validation recall "
                  f"{s.get('validation_recall')} / precision {s.get('validation_precision')} "
                  f"(target recall >= {s.get('target_recall')})."]
    lines += ["", "| category (test) | crisis? | messages | recall / false-alarm rate | right |",
              "| --- | --- | --- | --- | --- |"]
    for kind, row in kind_rows(report):
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", f"Missed crises by kind: {report.misses_by_kind or 'none'}; "
              f"false alarms by kind: {report.false_alarms_by_kind or 'none'}.", "",
              "| score | Spearman | MAE / accuracy |", "| --- | --- | --- |"]
    for name, rho in report.eq_spearman.items():
        lines.append(f"| EQ {name} | {rho:.3f} | MAE {report.eq_mae[name]:.3f} |")
    if report.safety is not None and report.bias is not None:
        lines.append(f"| safety (reply) | {report.safety_spearman:.3f} | "
                     f"accuracy {report.safety.accuracy:.3f} |")
        lines.append(f"| bias | {report.bias_spearman:.3f} | accuracy {report.bias.accuracy:.3f} |")
    wins, total = report.empathetic_beats_dismissive
    lines += ["", f"Empathetic reply scores a higher overall EQ than the dismissive one to the same "
              f"message in {wins}/{total} test messages ({wins / max(total, 1):.1%}).", ""]
    return "\n".join(lines)


def kind_rows(report: EvalReport) -> list[tuple[str, tuple[str, ...]]]:
    """Per category: recall for crisis kinds, false-alarm rate for the others, and share right."""
    rows = []
    for kind, (label, right, n) in sorted(report.by_kind.items(), key=lambda kv: (-kv[1][0], kv[0])):
        rate = f"recall {right / n:.3f}" if label else f"false alarms {(n - right) / n:.3f}"
        rows.append((kind, (kind, "yes" if label else "no", str(n), rate, f"{right}/{n} = {right / n:.3f}")))
    return rows
