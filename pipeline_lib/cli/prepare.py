"""`pixel prepare`: every one-time step `make demo` and `make test` need, each skipped when done."""

from __future__ import annotations

import hashlib

from rich.console import Console

from pipeline_lib.checkpoints import demo_checkpoint_dir, ensure_demo_checkpoint, project_root, state_dir
from pipeline_lib.server import prepare_server_dir


def add_parser(sub) -> None:
    p = sub.add_parser(
        "prepare", help="convert the demo model, train the scorer, copy the server (once each)",
        description="Idempotent setup of generated state under .pixel/: the demo checkpoint "
                    "(GGUF -> safetensors), the trained scoring heads and the tritonserver folder.")
    p.set_defaults(func=run)


def run(args) -> int:
    console = Console()
    steps = [
        ("demo checkpoint", lambda: (demo_checkpoint_dir() / "config.json").exists(), ensure_demo_checkpoint),
        ("tritonserver folder", lambda: False, prepare_server_dir),
        ("scoring heads", _scorer_ready, _train_scorer),
    ]
    for name, done, action in steps:
        if done():
            console.print(f"[green]✓[/] {name} (already there)")
            continue
        with console.status(f"{name}…"):
            action()
        console.print(f"[green]✓[/] {name}")
    return 0


def _scoring_inputs_digest() -> str:
    """Hash of what the heads are trained from (labelled set + scoring code): retrain on change."""
    root = project_root()
    h = hashlib.sha256()
    for path in sorted([*(root / "data" / "scoring").rglob("*"), *(root / "pipeline_lib" / "scoring").glob("*.py")]):
        if path.is_file():
            h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def _scorer_ready() -> bool:
    stamp = state_dir() / "scoring" / ".inputs-sha256"
    return stamp.is_file() and stamp.read_text() == _scoring_inputs_digest()


def _train_scorer() -> None:
    from pipeline_lib.cli import main

    if main(["train-scoring"]) != 0:
        raise SystemExit("training the scoring heads failed (see above)")
    (state_dir() / "scoring" / ".inputs-sha256").write_text(_scoring_inputs_digest())
