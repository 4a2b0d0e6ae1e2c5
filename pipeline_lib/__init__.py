"""Pixel on Triton: the serving library (config rendering, server launcher, models, client, store)."""

from pipeline_lib.errors import PixelError

__all__ = ["PixelError"]
__version__ = "0.1.0"
