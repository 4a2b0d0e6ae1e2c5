"""The benchmark baseline's config: Triton's ModelConfig, the ensemble's inputs and the same settings."""

from __future__ import annotations

import json

import pytest
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

from pipeline_lib import contract as T
from pipeline_lib.config.baseline import install_baseline, render_baseline
from pipeline_lib.config.compose import compose_config
from pipeline_lib.config.render import render_all

# The baseline sits beside the run-to-completion ensemble (what `make bench` measures it against).
OVERRIDES = ["profile=performance", "lm.max_new_tokens=16", "lm=python"]


def settings(config) -> dict:
    return {k: json.loads(v.string_value) for k, v in config.parameters.items()}


def test_baseline_takes_the_ensembles_inputs_batching_and_lm_settings():
    cfg = compose_config(OVERRIDES)
    baseline = render_baseline(cfg).config
    models = {m.name: m.config for m in render_all(cfg)}
    assert [(i.name, i.data_type) for i in baseline.input] == [
        (t.name, model_config_pb2.DataType.Value(t.data_type)) for t in T.ENSEMBLE_INPUTS]
    assert [o.name for o in baseline.output] == ["response_text"]
    assert baseline.backend == "python" and baseline.max_batch_size == 64
    assert baseline.dynamic_batching == models["pixel_lm"].dynamic_batching
    assert baseline.instance_group == models["pixel_lm"].instance_group
    s = settings(baseline)
    assert s["max_new_tokens"] == 16
    assert s["context_types"] == dict(cfg.tokenizer.context_types)
    assert s["default_context_type"] == cfg.tokenizer.default_context_type


@pytest.mark.slow
def test_install_writes_a_parseable_config_and_links_code_and_checkpoint(tmp_path):
    cfg = compose_config(OVERRIDES)
    install_baseline(cfg, tmp_path)
    text = (tmp_path / "baseline" / "config.pbtxt").read_text()
    assert text_format.Parse(text, model_config_pb2.ModelConfig()).name == "baseline"
    version = tmp_path / "baseline" / "1"
    assert "TritonPythonModel" in (version / "model.py").read_text()
    assert (version / "artifacts" / "checkpoint" / "config.json").is_file()
    install_baseline(cfg, tmp_path)  # again: replaces, does not fail
    assert (version / "model.py").is_symlink()
