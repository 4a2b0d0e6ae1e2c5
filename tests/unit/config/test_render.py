"""Rendering: the committed configs are exactly the default render; overrides change what they say."""

from __future__ import annotations

import pytest
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

from pipeline_lib.checkpoints import project_root
from pipeline_lib.config.compose import compose_config
from pipeline_lib.config.render import render_all, source_path
from pipeline_lib.errors import ConfigError


def by_name(overrides=()):
    return {m.name: m for m in render_all(compose_config(overrides))}


def test_committed_configs_match_default_render_byte_for_byte():
    for model in render_all(compose_config()):
        committed = source_path(project_root(), model).read_text()
        assert committed == model.pbtxt(), f"{model.name}: run `pixel render` and commit the result"


def test_committed_configs_parse_as_model_config():
    for model in render_all(compose_config()):
        text = source_path(project_root(), model).read_text()
        parsed = text_format.Parse(text, model_config_pb2.ModelConfig())
        assert parsed.name == model.name


@pytest.mark.parametrize(("profile", "max_batch", "preferred"), [
    ("production", 32, [8, 16, 32]),
    ("development", 8, [8]),
    ("performance", 64, [8, 16, 32]),
])
def test_profile_sets_batching(profile, max_batch, preferred):
    models = by_name([f"profile={profile}", "lm=python"])
    for name in ("tokenizer", "pixel_lm", "scoring"):
        cfg = models[name].config
        assert cfg.max_batch_size == max_batch
        assert list(cfg.dynamic_batching.preferred_batch_size) == preferred
        assert cfg.dynamic_batching.max_queue_delay_microseconds == 10_000
        assert cfg.dynamic_batching.default_queue_policy.timeout_action == model_config_pb2.ModelQueuePolicy.REJECT
    assert models["pixel"].config.max_batch_size == max_batch


def test_instance_and_version_policy_overrides():
    models = by_name(["instances=gpu", "version_policy=specific"])
    lm = models["pixel_lm"].config
    assert lm.instance_group[0].kind == model_config_pb2.ModelInstanceGroup.KIND_GPU
    assert list(lm.version_policy.specific.versions) == [1, 2]
    assert models["tokenizer"].config.instance_group[0].count == 2


def test_scalar_override_reaches_model_parameters():
    models = by_name(["lm.max_new_tokens=7"])
    for name in ("pixel_lm", "pixel", "pixel_stream"):  # the engine's default and the doors'
        assert models[name].config.parameters["max_new_tokens"].string_value == "7"
    threads = by_name(["scoring.cpu_threads=2"])["scoring"].config.parameters["cpu_threads"]
    assert threads.string_value == "2"


def test_ensemble_wires_every_step_output_to_a_consumer():
    ens = by_name(["lm=python"])["pixel"].config
    produced = {"text", "session_id", "context_type"}
    for step in ens.ensemble_scheduling.step:
        assert set(step.input_map.values()) <= produced, step.model_name
        produced |= set(step.output_map.values())
    assert {o.name for o in ens.output} <= produced


def test_two_variants_render_two_ensembles_and_lms():
    models = by_name(["ab=two_variants", "lm=python"])
    assert {"pixel", "pixel_concise", "pixel_lm", "pixel_lm_concise"} <= set(models)
    concise = models["pixel_lm_concise"].config
    assert concise.parameters["max_new_tokens"].string_value != models["pixel_lm"].config.parameters["max_new_tokens"].string_value
    steps = [s.model_name for s in models["pixel_concise"].config.ensemble_scheduling.step]
    assert steps == ["tokenizer", "pixel_lm_concise", "scoring"]


@pytest.mark.parametrize("override", ["profile=nonexistent", "tokenizer.max_input_tokens=4096",
                                      "instances.lm.kind=KIND_TPU", "scoring.cpu_threads=0"])
def test_bad_overrides_fail_with_a_config_error(override):
    with pytest.raises(ConfigError):
        render_all(compose_config([override]))


def test_libtorch_runtime_renders_for_the_pytorch_backend():
    lm = by_name(["lm=libtorch", "instances=gpu"])["pixel_lm"].config
    assert lm.platform == "pytorch_libtorch" and not lm.backend
    assert lm.default_model_filename == "model.pt"
    # The LibTorch backend maps outputs by their order here: it must be the module's tuple order.
    assert [o.name for o in lm.output] == ["output_ids", "output_length", "pooled_hidden"]
    assert [i.name for i in lm.input] == ["input_ids", "attention_mask"]
    assert lm.parameters["DISABLE_OPTIMIZED_EXECUTION"].string_value == "true"
    assert lm.instance_group[0].kind == model_config_pb2.ModelInstanceGroup.KIND_GPU


def test_engine_gpu_keeps_the_engine_and_sizes_its_steps_for_a_gpu():
    gpu = by_name(["lm=engine_gpu", "instances=gpu"])["pixel_lm"].config
    cpu = by_name()["pixel_lm"].config
    assert gpu.model_transaction_policy.decoupled
    assert gpu.instance_group[0].kind == model_config_pb2.ModelInstanceGroup.KIND_GPU
    assert gpu.parameters["device"].string_value == '"cuda"'
    assert (int(gpu.parameters["step_token_budget"].string_value)
            > int(cpu.parameters["step_token_budget"].string_value))
    assert gpu.parameters["hold_tokens"] == cpu.parameters["hold_tokens"]  # the rest inherited


def test_lm_parameters_hold_behaviour_not_paths():
    lm = by_name(["lm=python"])["pixel_lm"].config
    assert lm.parameters["runtime"].string_value == '"python"'
    assert "artifact_dir" not in lm.parameters and "checkpoint" not in lm.parameters


# -- the engine (the default) ----------------------------------------------------------------------

def test_engine_is_decoupled_and_takes_one_unpadded_prompt_per_request():
    lm = by_name()["pixel_lm"].config
    assert lm.model_transaction_policy.decoupled and lm.max_batch_size == 0
    assert not lm.HasField("dynamic_batching")
    optional = {i.name for i in lm.input if i.optional}
    assert {i.name for i in lm.input} - optional == {"input_ids"}
    assert {"cancel", "deadline_ns", "prefix_length", "max_new_tokens"} <= optional
    for key in ("n_slots", "max_seq_len", "prefill_chunk", "step_token_budget",
                "prefill_per_row", "prefix_cache_entries"):
        assert key in lm.parameters, key


def test_unary_door_keeps_the_ensemble_tensors_and_the_stream_door_is_decoupled():
    models = by_name()
    unary, stream = models["pixel"].config, models["pixel_stream"].config
    assert not unary.model_transaction_policy.decoupled and stream.model_transaction_policy.decoupled
    ensemble = by_name(["lm=python"])["pixel"].config
    required = [(i.name, i.data_type, list(i.dims)) for i in unary.input if not i.optional]
    assert required == [(i.name, i.data_type, list(i.dims)) for i in ensemble.input]
    assert [o.name for o in ensemble.output] == [o.name for o in unary.output][:len(ensemble.output)]
    assert {"stream_event", "text_delta"} <= {o.name for o in stream.output}
    assert unary.parameters["lm_model"].string_value == '"pixel_lm"'


def test_variants_that_only_change_request_settings_share_the_engine():
    models = by_name(["ab=two_variants"])
    assert {"pixel", "pixel_stream", "pixel_concise", "pixel_concise_stream"} <= set(models)
    assert not any(name.startswith("pixel_lm_") for name in models)
    concise = models["pixel_concise"].config.parameters
    assert concise["lm_model"].string_value == '"pixel_lm"'
    assert concise["max_new_tokens"].string_value == "32"


@pytest.mark.parametrize("override", ["scoring.crisis_reply_mode=ignore",
                                      "lm.max_new_tokens=768", "lm.prefill_per_row=0",
                                      "lm.n_slots=-4"])
def test_bad_engine_settings_fail_with_a_config_error(override):
    with pytest.raises(ConfigError):
        render_all(compose_config([override]))
