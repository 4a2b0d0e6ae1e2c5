"""The per-model CPU split finds a stack's processes by their command lines (real processes)."""

import os
import subprocess
import sys

from benchmarks.cpu_by_model import stack_processes


def test_stubs_are_named_by_their_model_and_other_repositories_are_left_out(tmp_path):
    stub = tmp_path / "triton_python_backend_stub"
    stub.symlink_to(sys.executable)
    ours, theirs = tmp_path / "repository", tmp_path / "other"
    procs = [subprocess.Popen([str(stub), "-c", "import time; time.sleep(60)", f"{repo}/{model}/1/model.py"])
             for repo, model in ((ours, "scoring"), (ours, "pixel_lm"), (theirs, "scoring"))]
    try:
        found = stack_processes(os.getpid(), ours)
        assert found[os.getpid()] == "tritonserver"
        assert {found.get(p.pid) for p in procs} == {"scoring", "pixel_lm", None}
        assert procs[2].pid not in found
    finally:
        for p in procs:
            p.kill()
            p.wait()
