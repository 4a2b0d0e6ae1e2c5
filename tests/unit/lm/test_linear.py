"""The fp32 `Linear`: its two-core few-row path is F.linear up to rounding."""

from __future__ import annotations

import torch

from pipeline_lib.lm.linear import Linear


def test_linear_few_rows_path_equals_f_linear_and_odd_widths_fall_back():
    """The two-core few-row path (column-major weight, even input width) is F.linear up to
    rounding; a row-major weight, an odd input width or many rows take F.linear itself."""
    for width, shape in [(64, (1, 1)), (64, (8, 1)), (64, (2, 40)), (63, (1, 1))]:
        linear = Linear(width, 96, bias=True)
        x = torch.randn(*shape, width)
        expected = torch.nn.functional.linear(x, linear.weight, linear.bias)
        assert torch.equal(linear(x), expected)  # row-major: the plain path
        linear.weight.data = linear.weight.data.t().contiguous().t()
        got = linear(x)
        assert got.shape == expected.shape and torch.allclose(got, expected, atol=1e-5)
