"""Compose the Hydra config tree in `configs/` with command-line style overrides."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from pipeline_lib.errors import ConfigError

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"


def compose_config(overrides: Sequence[str] = (), *, config_name: str = "pixel") -> DictConfig:
    """Return the resolved config; a bad override raises ConfigError naming it."""
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base=None):
            cfg = compose(config_name=config_name, overrides=list(overrides))
        OmegaConf.resolve(cfg)
    except (HydraException, OmegaConfBaseException) as exc:
        raise ConfigError(
            f"invalid config override {list(overrides)}: {exc}. "
            f"See the groups under {CONFIG_DIR} (e.g. profile=performance)."
        ) from exc
    return cfg
