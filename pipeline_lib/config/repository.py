"""Assemble a runnable Triton model repository: rendered configs + model.py files + artifacts.

The source tree keeps one folder per model (models/, ensembles/); Triton wants one flat folder with
`<model>/config.pbtxt` and `<model>/1/...`. Artifacts (tokenizer files, weights) are linked in
locally, copied for a container image.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from omegaconf import DictConfig

from pipeline_lib.checkpoints import ensure_demo_checkpoint, project_root, state_dir
from pipeline_lib.config.render import RenderedModel, render_all, variant_lms
from pipeline_lib.errors import SetupError

log = logging.getLogger(__name__)


def resolve_checkpoint(spec: str) -> Path:
    if spec == "demo":
        return ensure_demo_checkpoint()
    path = Path(spec).expanduser()
    if not (path / "config.json").is_file():
        raise SetupError(f"lm.checkpoint: {path} is not a Hugging Face folder (no config.json)")
    return path


def exported_artifact(lm: DictConfig) -> Path:
    """Where `pixel export` put the TorchScript module for this LM config."""
    directory = lm.get("artifact_dir") or state_dir() / "exports" / "default"
    path = Path(directory) / "model.pt"
    if not path.is_file():
        raise SetupError(f"{path} not found: run `pixel export --out {directory}` first "
                         "(or use lm=hf to serve the Hugging Face checkpoint directly)")
    return path


def _place(src: Path, dst: Path, *, copy: bool) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if copy:
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, dst)
    else:
        dst.symlink_to(src.resolve(), target_is_directory=src.is_dir())


def build_repository(cfg: DictConfig, out: Path, *, copy: bool = False) -> list[RenderedModel]:
    """(Re)create `out` as a complete model repository for `cfg`. Returns the rendered models."""
    models = render_all(cfg)
    checkpoint = resolve_checkpoint(cfg.lm.checkpoint)
    lm_settings = {name: lm for _, name, lm in variant_lms(cfg)}
    if out.exists():
        shutil.rmtree(out)
    root = project_root()
    for model in models:
        folder = out / model.name
        version = folder / "1"
        version.mkdir(parents=True)
        (folder / "config.pbtxt").write_text(model.pbtxt())
        if model.kind == "ensemble":
            continue
        lm = lm_settings.get(model.name)
        if lm is not None and lm.runtime == "libtorch":
            _place(exported_artifact(lm), version / "model.pt", copy=copy)
            continue
        _place(root / "models" / model.source / "1" / "model.py", version / "model.py", copy=copy)
        artifacts = version / "artifacts"
        if model.source == "pixel":
            continue  # the engine's orchestrators call the other models; they need no files
        if lm is None:
            _place(checkpoint, artifacts / "tokenizer", copy=copy)
        elif lm.runtime == "engine":
            _place(exported_artifact(lm), artifacts / "model.pt", copy=copy)
            _place(checkpoint, artifacts / "tokenizer", copy=copy)  # for detokenizing
        elif lm.runtime == "hf":
            _place(checkpoint, artifacts / "checkpoint", copy=copy)
        else:
            _place(exported_artifact(lm), artifacts / "model.pt", copy=copy)
        if model.source == "scoring":
            scorer = Path(cfg.scoring.get("weights_dir") or state_dir() / "scoring")
            if scorer.is_dir():
                _place(scorer, artifacts / "scorer", copy=copy)
            else:
                log.warning("no trained scorer at %s: scoring uses its rules only "
                            "(run `pixel train-scoring`)", scorer)
    return models
