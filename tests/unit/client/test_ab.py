"""Sticky, weighted, minimally-moving A/B assignment (weighted rendezvous hashing)."""

import random
import uuid

import pytest

from pipeline_lib.client.ab import Variant, VariantRouter
from pipeline_lib.errors import ConfigError

KEY = "test-key"


def router(**weights: float) -> VariantRouter:
    return VariantRouter(
        [Variant(name, f"pixel_{name}", "", w) for name, w in weights.items()], hash_key=KEY
    )


def session_ids(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(n)]


def test_same_session_same_variant_across_router_instances():
    ids = session_ids(500, seed=1)
    first = [router(a=0.5, b=0.5).assign(s).name for s in ids]
    again = [router(a=0.5, b=0.5).assign(s).name for s in ids]
    assert first == again
    assert set(first) == {"a", "b"}


@pytest.mark.parametrize(
    "weights",
    [{"a": 0.5, "b": 0.5}, {"a": 0.9, "b": 0.1}, {"a": 0.7, "b": 0.2, "c": 0.1}, {"a": 1, "b": 3}],
)
def test_split_over_10000_random_ids_within_one_point(weights):
    r = router(**weights)
    counts = r.split(session_ids(10_000, seed=20261101))
    for name, share in r.shares.items():
        assert abs(counts[name] / 10_000 - share) <= 0.01, (name, counts)


def test_split_is_unbiased_over_many_ids():
    # 200k ids: the binomial standard error at 50/50 is 0.11 pp, so 0.5 pp is > 4 sigma.
    r = router(a=0.5, b=0.5)
    counts = r.split(session_ids(200_000, seed=7))
    assert abs(counts["a"] / 200_000 - 0.5) <= 0.005


def test_raising_a_weight_moves_only_into_that_variant_and_no_more_than_needed():
    ids = session_ids(10_000, seed=3)
    before = router(a=0.5, b=0.5)
    after = router(a=0.6, b=0.4)
    moves = [(before.assign(s).name, after.assign(s).name) for s in ids]
    moved = [m for m in moves if m[0] != m[1]]
    assert all(m == ("b", "a") for m in moved)
    # The least any scheme can move is the change in share: 10 pp.
    assert abs(len(moved) / len(ids) - 0.10) <= 0.01


def test_three_variants_changing_one_weight_leaves_the_others_sessions_alone():
    ids = session_ids(10_000, seed=4)
    before = router(a=0.5, b=0.3, c=0.2)
    after = router(a=0.5, b=0.3, c=0.4)  # c's share 20% -> 33%
    for s in ids:
        old, new = before.assign(s).name, after.assign(s).name
        assert old == new or new == "c"


def test_adding_a_variant_only_takes_sessions_no_session_swaps_between_old_ones():
    ids = session_ids(5_000, seed=5)
    before = router(a=0.5, b=0.5)
    after = router(a=0.5, b=0.5, c=0.25)
    for s in ids:
        old, new = before.assign(s).name, after.assign(s).name
        assert old == new or new == "c"


def test_zero_weight_variant_gets_no_sessions():
    counts = router(a=1.0, b=0.0).split(session_ids(2_000, seed=6))
    assert counts == {"a": 2_000, "b": 0}


def test_a_different_key_reassigns_sessions():
    ids = session_ids(2_000, seed=8)
    variants = [Variant("a", "pixel", "", 0.5), Variant("b", "pixel_b", "", 0.5)]
    one = VariantRouter(variants, hash_key="k1")
    two = VariantRouter(variants, hash_key="k2")
    differing = sum(one.assign(s).name != two.assign(s).name for s in ids)
    assert 0.4 < differing / len(ids) < 0.6  # independent coin flips agree half the time


def test_bad_variant_declarations_are_refused():
    with pytest.raises(ConfigError, match="empty"):
        VariantRouter([], hash_key=KEY)
    with pytest.raises(ConfigError, match="duplicate"):
        VariantRouter([Variant("a", "x"), Variant("a", "y")], hash_key=KEY)
    with pytest.raises(ConfigError, match="at least one weight"):
        VariantRouter([Variant("a", "x", "", 0.0)], hash_key=KEY)
    with pytest.raises(ConfigError, match="model_name"):
        Variant.from_mapping({"name": "a"})
