"""Run the `tritonserver` binary shipped in the nvidia-pytriton wheel (we use only the binary).

Recipe (shared/DESIGN.md): copy the wheel's `tritonserver/` folder to a work folder, put the Python
backend stub for the running Python next to the backend, put the wheel's bundled libraries on
LD_LIBRARY_PATH and this virtualenv's bin/ first on PATH (the stub takes its sys.prefix, hence its
site-packages, from the `python3` it finds there).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pipeline_lib.checkpoints import state_dir
from pipeline_lib.contract import ADMIN_KEY_ENV
from pipeline_lib.errors import ConfigError, ServerError, SetupError

log = logging.getLogger(__name__)

# APIs that change or reveal server state: only a caller holding the admin key (the supervisor)
# reaches them. Inference, health and metadata stay open.
RESTRICTED_APIS = "model-repository,model-config,shared-memory,statistics,trace,logging"
_ADMIN_KEY_RULE = re.compile(r"^[A-Za-z0-9._~-]{16,}$")

# Python backend threads serving BLS calls: above the orchestrators' max_in_flight summed over
# `pixel` and `pixel_stream` (2 x 128 in the performance profile), with room for the other calls.
PYTHON_THREAD_POOL_SIZE = 512


def pytriton_paths() -> tuple[Path, Path]:
    """(the wheel's tritonserver folder, its bundled libraries folder)."""
    spec = importlib.util.find_spec("pytriton")
    if spec is None or not spec.submodule_search_locations:
        raise SetupError("tritonserver is not installed: run `make setup` "
                         "(it does `pip install --no-deps nvidia-pytriton==0.7.0`)")
    package = Path(list(spec.submodule_search_locations)[0])
    return package / "tritonserver", package.parent / "nvidia_pytriton.libs"


def prepare_server_dir(work: Path | None = None) -> Path:
    """Copy the server folder once and install the stub for this Python; idempotent."""
    source, _ = pytriton_paths()
    work = work or state_dir() / "tritonserver"
    py = f"{sys.version_info.major}.{sys.version_info.minor}"
    stub = source / "python_backend_stubs" / py / "triton_python_backend_stub"
    if not stub.is_file():
        raise SetupError(f"the PyPI tritonserver has no Python backend stub for Python {py}")
    marker = work / f".ready-{py}"
    if not marker.exists():
        if work.exists():
            shutil.rmtree(work)
        shutil.copytree(source, work, ignore=shutil.ignore_patterns("python_backend_stubs"))
        shutil.copy2(stub, work / "backends" / "python" / "triton_python_backend_stub")
        marker.touch()
    return work


def python_libdir() -> str:
    """The running interpreter's libpython folder, or "" for a static build.

    The stub links `libpython3.X.so.1.0` by name; without this, the loader may pick the distro's
    (e.g. Debian's 3.11.2) while site-packages' extension modules were built for ours (pyenv
    3.11.7), and they fail with undefined symbols such as `_PyModule_Add`.
    """
    libdir, library = sysconfig.get_config_var("LIBDIR"), sysconfig.get_config_var("INSTSONAME")
    return libdir if libdir and library and (Path(libdir) / library).exists() else ""


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def http_ok(url: str, *, timeout_s: float = 2.0) -> bool:
    """Whether a GET of `url` answers 200 (not listening, or any other answer: False)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def admin_key_from_env() -> str:
    """TRITON_ADMIN_KEY, or a fresh random key (then nobody but this process can use the admin
    APIs, the safe default)."""
    key = os.environ.get(ADMIN_KEY_ENV) or secrets.token_urlsafe(24)
    if not _ADMIN_KEY_RULE.match(key):
        raise ConfigError(f"{ADMIN_KEY_ENV} must be 16+ characters of [A-Za-z0-9._~-] "
                          "(it travels in a header)")
    return key


@dataclass(frozen=True)
class GrpcTls:
    """gRPC TLS: the server's certificate and key (PEM); a client CA turns on mutual TLS."""
    cert: Path
    key: Path
    client_ca: Path | None = None

    def args(self) -> list[str]:
        for option, path in (("--tls-cert", self.cert), ("--tls-key", self.key),
                             ("--tls-client-ca", self.client_ca)):
            if path is not None and not Path(path).is_file():
                raise ConfigError(f"{option}: file {path} not found")
        args = ["--grpc-use-ssl=true", f"--grpc-server-cert={self.cert}",
                f"--grpc-server-key={self.key}"]
        if self.client_ca is not None:
            args += ["--grpc-use-ssl-mutual=true", f"--grpc-root-cert={self.client_ca}"]
        return args


@dataclass
class TritonServer:
    repository: Path
    models: Sequence[str]  # models whose readiness means "up"
    host: str = "127.0.0.1"
    http_port: int = 8000
    grpc_port: int = 8001
    metrics_port: int = 8002
    log_file: Path | None = None
    log_verbose: int = 0
    startup_timeout_s: float = 300
    exit_timeout_s: int = 30
    python_thread_pool_size: int = PYTHON_THREAD_POOL_SIZE
    extra_args: Sequence[str] = ()
    admin_key: str = field(default_factory=admin_key_from_env, repr=False)
    grpc_tls: GrpcTls | None = None
    process: subprocess.Popen | None = field(default=None, init=False)

    @property
    def http_url(self) -> str:
        return f"{self.host}:{self.http_port}"

    @property
    def grpc_url(self) -> str:
        return f"{self.host}:{self.grpc_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://{self.host}:{self.metrics_port}/metrics"

    def command(self, server_dir: Path) -> list[str]:
        return [
            str(server_dir / "bin" / "tritonserver"),
            f"--model-repository={self.repository}",
            f"--backend-directory={server_dir / 'backends'}",
            f"--http-address={self.host}", f"--http-port={self.http_port}",
            f"--grpc-address={self.host}", f"--grpc-port={self.grpc_port}",
            f"--metrics-address={self.host}", f"--metrics-port={self.metrics_port}",
            "--allow-metrics=true", "--allow-gpu-metrics=false",
            # Every in-flight engine request holds one of the Python backend's BLS threads while
            # it streams (default 32): with more in flight, the engine's own replies found no
            # thread and everything stopped. See docs/engine.md.
            f"--backend-config=python,thread-pool-size={self.python_thread_pool_size}",
            f"--log-verbose={self.log_verbose}",
            f"--exit-timeout-secs={self.exit_timeout_s}",
            # Explicit control so the supervisor can reload a model whose stub died; the load
            # API can carry model code, so it sits behind the admin key with the other admin APIs.
            "--model-control-mode=explicit", "--load-model=*",
            f"--grpc-restricted-protocol={RESTRICTED_APIS}:admin-key={self.admin_key}",
            f"--http-restricted-api={RESTRICTED_APIS}:admin-key={self.admin_key}",
            *(self.grpc_tls.args() if self.grpc_tls else ()),
            *self.extra_args,
        ]

    def environment(self, server_dir: Path) -> dict[str, str]:
        _, libs = pytriton_paths()
        env = dict(os.environ)
        env["LD_LIBRARY_PATH"] = os.pathsep.join(
            p for p in (python_libdir(), str(libs), env.get("LD_LIBRARY_PATH", "")) if p)
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        env.setdefault("HF_HUB_OFFLINE", "1")  # models load from local files only
        env.setdefault("TOKENIZERS_PARALLELISM", "false")
        return env

    def start(self) -> TritonServer:
        for name, port in (("http", self.http_port), ("grpc", self.grpc_port),
                           ("metrics", self.metrics_port)):
            if port_in_use(self.host, port):
                raise ServerError(f"port {port} ({name}) on {self.host} is already in use: stop "
                                  f"what holds it or pass another port (--{name}-port)")
        server_dir = prepare_server_dir()
        self.log_file = Path(self.log_file or state_dir() / "logs" / "tritonserver.log")
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        log_handle = self.log_file.open("wb")
        self.process = subprocess.Popen(
            self.command(server_dir), env=self.environment(server_dir), stdout=log_handle,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        log_handle.close()
        self._log_offset = 0
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def model_ready(self, model: str) -> bool:
        return http_ok(f"http://{self.http_url}/v2/models/{model}/ready")

    def wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(f"tritonserver exited with code {self.process.returncode} while "
                                  f"starting:\n{self.failure_reason()}\n(full log: {self.log_file})")
            if all(self.model_ready(m) for m in self.models):
                return
            time.sleep(0.5)
        raise ServerError(f"models {list(self.models)} not ready after {self.startup_timeout_s:.0f} s "
                          f"(log: {self.log_file})\n{self.failure_reason()}")

    def failure_reason(self, lines: int = 15) -> str:
        """The error lines of the log (Triton prefixes them with E<date>), else its tail."""
        text = self.log_file.read_text(errors="replace").splitlines() if self.log_file else []
        errors = [ln for ln in text if ln.startswith("E") or "error" in ln.lower()]
        return "\n".join((errors or text)[-lines:])

    def stop(self) -> int | None:
        """SIGINT (Triton drains in-flight requests), then SIGKILL if it does not exit in time."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=self.exit_timeout_s + 15)
        except subprocess.TimeoutExpired:
            log.warning("tritonserver did not stop in time; killing it")
            os.killpg(self.process.pid, signal.SIGKILL)
            return self.process.wait()

    def __enter__(self) -> TritonServer:
        return self.start() if self.process is None else self

    def __exit__(self, *exc) -> None:
        self.stop()
