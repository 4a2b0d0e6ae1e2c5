"""stub_processes reads real processes from /proc: children named like the Python backend's stub
are found with their model and instance; a killed one (a zombie until reaped) is reported dead."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from pipeline_lib.stub_processes import STUB_BINARY, dead_stubs, live_stubs


def fake_stub(tmp_path, model: str) -> subprocess.Popen:
    """A real child whose argv looks like a stub's: argv[0] ends with the stub's name, then the
    model file and the instance name (as the Python backend passes them)."""
    model_file = tmp_path / "repository" / model / "1" / "model.py"
    argv0 = str(tmp_path / "backends" / "python" / STUB_BINARY)
    code = "import time; time.sleep(120)"
    return subprocess.Popen(["bash", "-c", f'exec -a "{argv0}" "{sys.executable}" -c "{code}" '
                                           f'"{model_file}" "{model}_0_0"'])


@pytest.fixture
def stubs(tmp_path):
    children = [fake_stub(tmp_path, m) for m in ("pixel_lm", "tokenizer")]
    deadline = time.monotonic() + 30
    while len(live_stubs(os.getpid())) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    yield children
    for child in children:
        child.kill()
        child.wait()


def test_children_named_like_stubs_are_found_with_model_and_instance(stubs):
    found = live_stubs(os.getpid())
    assert set(found) == {"pixel_lm_0_0", "tokenizer_0_0"}
    assert found["pixel_lm_0_0"].model == "pixel_lm"
    assert found["pixel_lm_0_0"].pid == stubs[0].pid
    assert live_stubs(stubs[0].pid) == {}  # only children of the given server count


def test_a_killed_stub_is_dead_even_before_it_is_reaped(stubs):
    expected = live_stubs(os.getpid())
    os.kill(stubs[0].pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while not dead_stubs(expected, os.getpid()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [s.instance for s in dead_stubs(expected, os.getpid())] == ["pixel_lm_0_0"]
