"""Deployment validation: the offline validators, found in the virtualenv or on PATH.

They are installed by containers/validate-tools.sh (pyproject extra `deploy` + Debian's prometheus
package). A missing validator fails the test with that instruction: every one of them installs on
these machines, so skipping would hide a missing install step.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
VENV_BIN = Path(sys.executable).parent


def find_tool(name: str) -> str:
    candidate = VENV_BIN / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: run containers/validate-tools.sh")
    return found


def run_tool(*args: str, env: dict | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess:
    """Run a validator; the caller asserts on returncode and output."""
    return subprocess.run([find_tool(args[0]), *args[1:]], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO
