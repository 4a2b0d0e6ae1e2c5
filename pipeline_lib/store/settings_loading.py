"""Compose the Hydra `store` group into StoreSettings (for the CLI and scripts, not serving code)."""

from __future__ import annotations

from collections.abc import Sequence

from pipeline_lib.checkpoints import project_root
from pipeline_lib.errors import ConfigError
from pipeline_lib.store.settings import StoreSettings


def load_store_settings(config: str = "default", overrides: Sequence[str] = ()) -> StoreSettings:
    """`config` names a file in configs/store/; overrides look like `spool.batch_size=100`."""
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf import OmegaConf

    prefixed = [o if o.startswith("store.") else f"store.{o}" for o in overrides]
    try:
        with initialize_config_dir(config_dir=str(project_root() / "configs"), version_base=None):
            cfg = compose(overrides=[f"+store={config}", *prefixed])
    except HydraException as exc:
        raise ConfigError(f"store config {config!r} with {list(overrides)}: {exc}") from exc
    return StoreSettings.from_mapping(OmegaConf.to_container(cfg.store, resolve=True))
