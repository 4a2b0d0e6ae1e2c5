"""Config -> repository -> running server: the steps `pixel serve`, `make demo` and tests share."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pipeline_lib.checkpoints import state_dir
from pipeline_lib.config.compose import compose_config
from pipeline_lib.config.repository import build_repository
from pipeline_lib.server import TritonServer


def server_from_overrides(overrides: Sequence[str] = (), *, repository: Path | None = None,
                          **server_kwargs) -> TritonServer:
    """Compose the config, build its repository and return a (not yet started) server."""
    cfg = compose_config(overrides)
    srv = cfg.server
    repository = Path(repository or srv.repository_dir or state_dir() / "repository")
    models = build_repository(cfg, repository)
    kwargs = dict(
        host=srv.host, http_port=srv.http_port, grpc_port=srv.grpc_port,
        metrics_port=srv.metrics_port, log_file=Path(srv.log_file) if srv.log_file else None,
        log_verbose=srv.log_verbose, startup_timeout_s=srv.startup_timeout_s,
        exit_timeout_s=srv.exit_timeout_s)
    kwargs.update(server_kwargs)
    return TritonServer(repository=repository, models=[m.name for m in models], **kwargs)
