"""`pixel render`: Hydra config -> config.pbtxt files."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from pipeline_lib.checkpoints import project_root
from pipeline_lib.config.compose import compose_config
from pipeline_lib.config.render import render_all, source_path, write_source_tree


def add_parser(sub) -> None:
    p = sub.add_parser(
        "render", help="render every config.pbtxt from configs/",
        description="Compose configs/ with Hydra overrides and write config.pbtxt for every model "
                    "(models/<name>/ and ensembles/<name>/ under --out). The default render is "
                    "committed; `make test` fails if it drifts.")
    p.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. profile=performance lm.max_new_tokens=32")
    p.add_argument("--out", type=Path, default=None, help="root to write under (default: the project root)")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if the files under --out differ")
    p.set_defaults(func=run)


def run(args) -> int:
    console = Console()
    root = args.out or project_root()
    models = render_all(compose_config(args.overrides))
    if args.check:
        stale = [m.name for m in models
                 if not source_path(root, m).exists() or source_path(root, m).read_text() != m.pbtxt()]
        for name in stale:
            console.print(f"[red]out of date:[/] {name} (run `pixel render`)")
        return 1 if stale else 0
    for path in write_source_tree(models, root):
        console.print(f"wrote {path}")
    return 0

