"""build_repository lays out a complete Triton repository from a config: every rendered model gets
its config.pbtxt, the Python models their model.py and artifacts (linked, not copied), ensembles only a config; a missing export is named with the command that makes it."""

from __future__ import annotations

import pytest
from google.protobuf import text_format
from omegaconf import OmegaConf
from tritonclient.grpc import model_config_pb2

from pipeline_lib.config.compose import compose_config
from pipeline_lib.config.repository import build_repository, exported_artifact
from pipeline_lib.errors import SetupError

pytestmark = pytest.mark.slow  # it needs the demo checkpoint (`make prepare` made it)


def test_hf_repository_is_complete(tmp_path):
    out = tmp_path / "repository"
    (out / "stale").mkdir(parents=True)  # a rebuild starts clean
    models = build_repository(compose_config(["lm=hf", "ab=single"]), out)
    assert sorted(p.name for p in out.iterdir()) == sorted(m.name for m in models)
    for model in models:
        folder = out / model.name
        parsed = text_format.Parse((folder / "config.pbtxt").read_text(),
                                   model_config_pb2.ModelConfig())
        assert parsed.name == model.name
        if model.kind == "ensemble":
            assert not any((folder / "1").iterdir())
            continue
        code = folder / "1" / "model.py"
        assert code.is_file() and code.is_symlink()  # links: nothing big is copied
    assert (out / "tokenizer" / "1" / "artifacts" / "tokenizer" / "config.json").is_file()
    assert (out / "pixel_lm" / "1" / "artifacts" / "checkpoint" / "config.json").is_file()


def test_a_missing_export_names_the_command_that_makes_it(tmp_path):
    lm = OmegaConf.create({"artifact_dir": str(tmp_path / "nowhere")})
    with pytest.raises(SetupError, match="pixel export --out"):
        exported_artifact(lm)
