from pipeline_lib.contract import CONTEXT_TYPES
from pipeline_lib.gateway.catalog import context_type_of, model_list


def test_every_context_type_has_a_model_and_pixel_is_general_support():
    assert context_type_of("pixel") == "general_support"
    assert context_type_of("pixel-crisis-support") == "crisis_support"
    assert context_type_of("gpt-4o") is None
    listed = {m["id"]: m["pixel"]["context_type"] for m in model_list(0)["data"]}
    assert set(listed.values()) == set(CONTEXT_TYPES) and listed["pixel"] == "general_support"
