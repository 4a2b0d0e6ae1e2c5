"""The serving half never imports the training half (issue 15: split serving from training)."""

import ast
import subprocess
import sys
from pathlib import Path

import pipeline_lib.scoring as scoring

SERVING = Path(scoring.__file__).parent


def test_no_serving_module_imports_the_training_package():
    modules = sorted(SERVING.glob("*.py"))
    assert len(modules) >= 10
    for path in modules:
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not [n for n in names if n.startswith("pipeline_lib.scoring.train")], path.name


def test_loading_the_scorer_loads_no_training_module():
    code = ("import sys; from pipeline_lib.scoring import Scorer; Scorer.load(None).user_risk(['hi']); "
            "print(sorted(m for m in sys.modules if m.startswith('pipeline_lib.scoring.train')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
