"""The Python backend's stub processes of a running tritonserver, read from /proc.

Why: on Triton 2.51 a Python stub that dies (an out-of-memory kill, a crash in native code) is not
restarted and its model stays "ready"; every request to it then fails with "Stub process '<name>'
is not healthy". The stubs are children of tritonserver running `triton_python_backend_stub`, and
their argv carries the model file (<repository>/<model>/<version>/model.py) and the instance name
(e.g. `pixel_lm_0_0`), so a dead one is named by comparing who runs now with who ran at start.
Standard library only: the container's health check imports it without the rest of the package.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

STUB_BINARY = "triton_python_backend_stub"
PROC = Path("/proc")


@dataclass(frozen=True)
class Stub:
    pid: int
    model: str  # the model's folder name in the repository
    instance: str  # Triton's instance name, e.g. pixel_lm_0_0


def _stat(pid: int) -> tuple[str, int] | None:
    """(state letter, parent pid) of a process, or None when it is gone."""
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = raw[raw.rindex(")") + 2:].split()  # after "pid (comm) "
    return fields[0], int(fields[1])


def _argv(pid: int) -> list[str]:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().decode(errors="replace").split("\0")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return []


def _parse(pid: int, argv: list[str]) -> Stub | None:
    if not argv or Path(argv[0]).name != STUB_BINARY:
        return None
    model_file = next((a for a in argv[1:] if a.endswith("model.py")), "")
    model = Path(model_file).parent.parent.name if model_file else ""
    # The instance name is the argument that starts with the model's name (e.g. pixel_lm_0_0).
    instance = next((a for a in argv[1:] if model and a.startswith(model + "_")
                     and "/" not in a), model)
    return Stub(pid, model, instance) if model else None


def live_stubs(server_pid: int) -> dict[str, Stub]:
    """Instance name -> stub, for every live (not zombie) stub whose parent is `server_pid`."""
    stubs: dict[str, Stub] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        stat = _stat(pid)
        if stat is None or stat[1] != server_pid or stat[0] in ("Z", "X"):
            continue
        stub = _parse(pid, _argv(pid))
        if stub is not None:
            stubs[stub.instance] = stub
    return stubs


def dead_stubs(expected: dict[str, Stub], server_pid: int) -> list[Stub]:
    """The stubs of `expected` (a `live_stubs` taken when all was well) that no longer run."""
    now = live_stubs(server_pid)
    return [stub for name, stub in expected.items() if name not in now]


def find_server_pid(binary_name: str = "tritonserver") -> int | None:
    """The pid of the only tritonserver in this process namespace (a container), else None."""
    found = []
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            argv = _argv(int(entry.name))
            if argv and Path(argv[0]).name == binary_name:
                found.append(int(entry.name))
    return found[0] if len(found) == 1 else None
