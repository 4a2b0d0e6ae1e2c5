"""Every option of every config group that shapes the model repository renders, and every
rendered config.pbtxt parses back as Triton's ModelConfig with the same content.

The groups are read from configs/pixel.yaml's defaults, the options from the folders, so a new
option is swept without touching this test."""

from __future__ import annotations

import pytest
import yaml
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

from pipeline_lib.checkpoints import project_root
from pipeline_lib.config.compose import compose_config
from pipeline_lib.config.render import render_all

CONFIGS = project_root() / "configs"


def _group_options() -> list[tuple[str, str]]:
    defaults = yaml.safe_load((CONFIGS / "pixel.yaml").read_text())["defaults"]
    groups = [next(iter(item)) for item in defaults if isinstance(item, dict)]
    return [(group, path.stem) for group in groups
            for path in sorted((CONFIGS / group).glob("*.yaml"))]


OPTIONS = _group_options()


def test_the_sweep_covers_every_group_of_the_main_config():
    groups = {group for group, _ in OPTIONS}
    assert {"profile", "instances", "lm", "version_policy", "ab", "tokenizer", "scoring"} <= groups
    assert len(OPTIONS) >= 15


@pytest.mark.parametrize(("group", "option"), OPTIONS, ids=[f"{g}={o}" for g, o in OPTIONS])
def test_every_option_renders_configs_that_parse(group, option):
    models = render_all(compose_config([f"{group}={option}"]))
    assert models, f"{group}={option} rendered no model"
    for model in models:
        parsed = text_format.Parse(model.pbtxt(), model_config_pb2.ModelConfig())
        assert parsed == model.config, f"{group}={option}: {model.name} does not round-trip"
        assert parsed.name == model.name
        assert parsed.backend or parsed.platform, f"{model.name} names no backend"
