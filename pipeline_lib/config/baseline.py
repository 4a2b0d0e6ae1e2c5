"""The benchmark baseline: one Python model doing Hugging Face tokenizer + `generate` the plain way.

It answers the same raw-text request as the ensemble (same inputs, same checkpoint, same
max_new_tokens, same chat template and system prompts, same batching profile) so perf_analyzer can
compare the two. Its config goes through Triton's `ModelConfig` protobuf like every other model;
its code lives in `benchmarks/baseline/1/model.py`, not in `models/` (it is never served in production).
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from pipeline_lib.checkpoints import project_root
from pipeline_lib.config import render
from pipeline_lib.config import tensors as T
from pipeline_lib.config.repository import resolve_checkpoint
from pipeline_lib.errors import SetupError

BASELINE_NAME = "baseline"
BASELINE_OUTPUTS = (T.Tensor("response_text", "TYPE_STRING", (1,)),)


def baseline_source() -> Path:
    return project_root() / "benchmarks" / "baseline" / "1" / "model.py"


def render_baseline(cfg: DictConfig, *, name: str = BASELINE_NAME) -> render.RenderedModel:
    """The baseline's ModelConfig, built from the same composed config as the ensemble."""
    tok = cfg.tokenizer
    settings = {
        "max_new_tokens": cfg.lm.max_new_tokens,
        "dtype": cfg.lm.dtype,
        "device": cfg.lm.device,
        "max_input_tokens": tok.max_input_tokens,
        "default_context_type": tok.default_context_type,
        "context_types": OmegaConf.to_container(tok.context_types, resolve=True),
    }
    d = render._python_model(cfg, name=name, inputs=T.ENSEMBLE_INPUTS, outputs=BASELINE_OUTPUTS,
                             instances=cfg.instances.lm, settings=settings)
    return render.RenderedModel(name, "model", "baseline", render._message(d))


def install_baseline(cfg: DictConfig, repository: Path, *, name: str = BASELINE_NAME) -> render.RenderedModel:
    """Add the baseline to an assembled repository: config.pbtxt, model.py, the checkpoint linked."""
    source = baseline_source()
    if not source.is_file():
        raise SetupError(f"{source} not found: the baseline model ships with the repository's benchmarks/")
    model = render_baseline(cfg, name=name)
    version = repository / name / "1"
    version.mkdir(parents=True, exist_ok=True)
    (repository / name / "config.pbtxt").write_text(model.pbtxt())
    for link, target in ((version / "model.py", source),
                         (version / "artifacts" / "checkpoint", resolve_checkpoint(cfg.lm.checkpoint))):
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target.resolve(), target_is_directory=target.is_dir())
    return model
