"""The supervisor's detection on real processes (/proc): a stub missing at two polls in a row is
dead; one replaced by a new stub of the same instance between polls (a reload) is not."""

from __future__ import annotations

import os
import signal
import time
from types import SimpleNamespace

import pytest

from pipeline_lib.stub_processes import live_stubs
from pipeline_lib.supervisor import HealingPolicy, Supervisor
from tests.unit.test_stub_processes import fake_stub


def wait_for_stubs(count: int) -> None:
    deadline = time.monotonic() + 30
    while len(live_stubs(os.getpid())) != count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(live_stubs(os.getpid())) == count


@pytest.fixture
def supervisor(tmp_path):
    children = [fake_stub(tmp_path, m) for m in ("pixel_lm", "tokenizer")]
    wait_for_stubs(2)
    # The stubs are this test's children, so this process plays the server (it is running).
    server = SimpleNamespace(process=SimpleNamespace(pid=os.getpid(), poll=lambda: None),
                             http_url="127.0.0.1:1")
    watcher = Supervisor(server, admin_key="unused-key-0123456789",
                         policy=HealingPolicy(probe_interval_s=0))
    watcher.baseline()
    yield watcher, children, tmp_path
    for child in children:
        child.kill()
        child.wait()


def test_a_stub_missing_at_two_polls_is_dead(supervisor):
    watcher, children, _ = supervisor
    children[0].kill()
    children[0].wait()
    assert watcher.problem() is None  # the first miss could be a reload's gap
    what, dead = watcher.problem()
    assert [stub.instance for stub in dead] == ["pixel_lm_0_0"]
    assert "pixel_lm_0_0" in what


def test_a_stub_replaced_between_polls_is_not_dead(supervisor):
    watcher, children, tmp_path = supervisor
    os.kill(children[0].pid, signal.SIGKILL)
    children[0].wait()
    assert watcher.problem() is None
    children.append(fake_stub(tmp_path, "pixel_lm"))  # the reload's new stub, same instance
    wait_for_stubs(2)
    assert watcher.problem() is None
    assert watcher.problem() is None  # and the earlier miss is forgotten
