"""`pixel prepare`: every one-time step `make demo` and `make test` need, each skipped when done."""

from __future__ import annotations

from rich.console import Console

from pipeline_lib.checkpoints import demo_checkpoint_dir, ensure_demo_checkpoint, state_dir
from pipeline_lib.lm.export import default_out_dir
from pipeline_lib.server import prepare_server_dir


def add_parser(sub) -> None:
    p = sub.add_parser(
        "prepare", help="convert the demo model, train the scorer, export the LM, copy the server (once each)",
        description="Idempotent setup of generated state under .pixel/: the demo checkpoint "
                    "(GGUF -> safetensors), the trained scoring heads, the exported LM (`pixel export`) "
                    "and the tritonserver folder.")
    p.set_defaults(func=run)


def run(args) -> int:
    console = Console()
    steps = [
        ("demo checkpoint", lambda: (demo_checkpoint_dir() / "config.json").exists(), ensure_demo_checkpoint),
        ("tritonserver folder", lambda: False, prepare_server_dir),
        ("scoring weights (committed copy, or trained if its inputs changed)", scorer_ready, _prepare_scorer),
        ("exported LM (pixel export, validated against Hugging Face)", _export_ready, _export),
    ]
    for name, done, action in steps:
        if done():
            console.print(f"[green]✓[/] {name} (already there)")
            continue
        with console.status(f"{name}…"):
            action()
        console.print(f"[green]✓[/] {name}")
    return 0


def _lm_config():
    """The LM config whose export `prepare` makes. The engine runs any export (its reply length
    is per request), so with the engine the run-to-completion runtime's settings decide: one
    file then serves `lm=engine` and `lm=python` alike."""
    from pipeline_lib.config.compose import compose_config

    lm = compose_config().lm
    return compose_config(["lm=python"]).lm if lm.runtime == "engine" else lm


def _export_ready() -> bool:
    """The default export exists and was made with the default config's length, dtype and
    quantization."""
    from pipeline_lib.lm.runner import read_metadata

    lm = _lm_config()
    artifact = default_out_dir() / "model.pt"
    if lm.runtime == "hf" or lm.get("artifact_dir"):
        return True  # nothing to export, or the user manages their own artifact
    if not artifact.is_file():
        return False
    from pipeline_lib.lm.export import FORMAT_VERSION

    meta = read_metadata(artifact)
    if meta.get("format_version") != FORMAT_VERSION:
        return False  # made by an older `pixel export`: re-export
    scheme = (meta.get("quantization") or {}).get("scheme", "none")
    return (meta.get("max_new_tokens") == lm.max_new_tokens and meta.get("dtype") == lm.dtype
            and scheme == lm.get("quantize", "none"))


def _export() -> None:
    from pipeline_lib.cli import main

    lm = _lm_config()
    if main(["export", "--max-new-tokens", str(lm.max_new_tokens), "--dtype", lm.dtype,
             "--quantize", lm.get("quantize", "none")]) != 0:
        raise SystemExit("exporting the LM failed (see above)")


def scorer_ready() -> bool:
    """The state dir holds weights made from the current training inputs."""
    from pipeline_lib.scoring.train.inputs import inputs_digest

    stamp = state_dir() / "scoring" / ".inputs-sha256"
    return stamp.is_file() and stamp.read_text() == inputs_digest()


def _prepare_scorer() -> None:
    """Copy the committed weights when they were trained from the current inputs (seconds); train
    only when the inputs changed (a few minutes), and say how to refresh the committed copy."""
    import json
    import logging
    import shutil

    from pipeline_lib.scoring.heads import META_FILE, WEIGHTS_FILE
    from pipeline_lib.scoring.train.inputs import committed_dir, inputs_digest

    digest, committed, out = inputs_digest(), committed_dir(), state_dir() / "scoring"
    meta = committed / META_FILE
    fresh = meta.is_file() and json.loads(meta.read_text()).get("inputs_sha256") == digest
    if fresh:
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        for name in (WEIGHTS_FILE, META_FILE):
            shutil.copyfile(committed / name, out / name)
    else:
        from pipeline_lib.cli import main

        logging.getLogger(__name__).warning(
            "the committed scoring weights are not from the current training inputs: training "
            "(refresh them with `pixel train-scoring --out data/scoring/weights`)")
        shutil.rmtree(out, ignore_errors=True)
        if main(["train-scoring"]) != 0:
            raise SystemExit("training the scoring heads failed (see above)")
    (out / ".inputs-sha256").write_text(digest)
