"""containers/Dockerfile lints clean (hadolint, strictest threshold) and keeps the production rules;
the shell scripts pass shellcheck; the entrypoint builds the documented tritonserver command."""

from __future__ import annotations

import os
import re

import pytest
from tests.unit.deploy.conftest import REPO, run_tool

DOCKERFILE = REPO / "containers" / "Dockerfile"
ENTRYPOINT = REPO / "containers" / "entrypoint.sh"


def test_dockerfile_lints_clean():
    result = run_tool("hadolint", "--no-color", "--failure-threshold", "style", str(DOCKERFILE))
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_catches_a_root_user(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text(DOCKERFILE.read_text().replace("USER 10001:10001", "USER root"))
    result = run_tool("hadolint", "--no-color", "--failure-threshold", "style", str(bad))
    assert result.returncode != 0 and "DL3002" in result.stdout


def test_base_image_is_ngc_triton_2025_10_or_newer():
    text = DOCKERFILE.read_text()
    version = re.search(r"^ARG TRITON_VERSION=(\d\d)\.(\d\d)$", text, re.M)
    assert version, "pin TRITON_VERSION=YY.MM"
    assert (int(version.group(1)), int(version.group(2))) >= (25, 10)
    assert "FROM nvcr.io/nvidia/tritonserver:${TRITON_VERSION}-py3" in text


def test_runs_unprivileged_exposes_triton_ports_and_checks_model_readiness():
    text = DOCKERFILE.read_text()
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert re.search(r"^EXPOSE 8000 8001 8002$", text, re.M)
    healthcheck = re.search(r"^HEALTHCHECK .*\n\s+CMD (.*)$", text, re.M)
    assert healthcheck and "healthcheck.py" in healthcheck.group(1)
    assert '"--model", "pixel"' in healthcheck.group(1)


def test_every_copied_path_exists_except_the_rendered_repository():
    sources = []
    for line in DOCKERFILE.read_text().splitlines():
        if line.startswith("COPY "):
            parts = [p for p in line.split()[1:] if not p.startswith("--")]
            sources += parts[:-1]
    assert "build/model-repository/${PIXEL_PROFILE}" in sources
    missing = [s for s in sources if "${" not in s and not (REPO / s).exists()]
    assert not missing, f"the Dockerfile copies paths that do not exist: {missing}"


def test_shell_scripts_pass_shellcheck():
    result = run_tool("shellcheck", str(ENTRYPOINT), str(REPO / "containers" / "validate-tools.sh"))
    assert result.returncode == 0, result.stdout


def entrypoint_args(tmp_path, **env) -> list[str]:
    import subprocess

    full_env = {"PATH": os.environ["PATH"], "PIXEL_ENTRYPOINT_PRINT": "1",
                "PIXEL_MODEL_REPOSITORY": str(tmp_path), **env}
    result = subprocess.run(["bash", str(ENTRYPOINT), "--extra"], env=full_env,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_entrypoint_uses_production_flags(tmp_path):
    args = entrypoint_args(tmp_path, TRITON_EXIT_TIMEOUT_SECS="25")
    assert f"--model-repository={tmp_path}" in args
    assert "--model-control-mode=explicit" in args and "--load-model=*" in args
    assert "--exit-timeout-secs=25" in args
    assert any(a.startswith("--grpc-restricted-protocol=model-repository,") for a in args)
    assert any(a.startswith("--http-restricted-api=model-repository,") for a in args)
    assert args[-1] == "--extra"


def test_entrypoint_reads_the_admin_key_from_a_secret_file(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text("s3cret-admin-key-0123456789\n")
    args = entrypoint_args(tmp_path, TRITON_ADMIN_KEY_FILE=str(key_file))
    assert any(a.endswith(":admin-key=s3cret-admin-key-0123456789")
               for a in args if a.startswith("--grpc-restricted-protocol="))


def test_entrypoint_without_a_key_locks_admin_apis_with_a_random_one(tmp_path):
    first = [a for a in entrypoint_args(tmp_path) if a.startswith("--grpc-restricted")]
    second = [a for a in entrypoint_args(tmp_path) if a.startswith("--grpc-restricted")]
    assert first != second


@pytest.mark.parametrize("env,message", [
    ({"TRITON_ADMIN_KEY": "short"}, "16+ characters"),
    ({"TRITON_ADMIN_KEY": "has spaces in it, which break headers"}, "16+ characters"),
    ({"PIXEL_MODEL_REPOSITORY": "/nonexistent/models"}, "pixel build-repo"),
])
def test_entrypoint_refuses_bad_settings_with_a_reason(tmp_path, env, message):
    import subprocess

    full_env = {"PATH": os.environ["PATH"], "PIXEL_ENTRYPOINT_PRINT": "1",
                "PIXEL_MODEL_REPOSITORY": str(tmp_path), **env}
    result = subprocess.run(["bash", str(ENTRYPOINT)], env=full_env, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode != 0
    assert message in result.stderr
