"""OutcomeRecord refuses bad fields by name, before anything is spooled."""

from __future__ import annotations

from datetime import datetime

import pytest

from pipeline_lib.errors import InvalidInputError


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("request_id", "not-a-uuid", "32 lowercase hex"),
        ("session_id", "", "non-empty"),
        ("eq_scores", (0.1, 0.2), "must hold 5"),
        ("overall_eq", float("nan"), "finite"),
        ("latency_ms", -1.0, ">= 0"),
        ("variant", "v" * 65, "at most 64"),
        ("created_at", datetime(2026, 1, 1), "timezone-aware"),
    ],
)
def test_bad_fields_are_named(new_outcome, field, value, rule):
    with pytest.raises(InvalidInputError) as error:
        new_outcome(**{field: value})
    assert error.value.field == field and rule in error.value.rule


def test_a_good_record_keeps_its_values(new_outcome):
    record = new_outcome(crisis_flag=True)
    assert record.crisis_flag is True and len(record.request_id) == 32
