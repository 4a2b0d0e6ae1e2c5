"""compose.yaml validates against the compose specification (`docker-compose config`, compose v2's
own schema check) for each profile, and keeps the production rules: GPU, drain time, model-ready
health check, secrets only from the environment."""

from __future__ import annotations

import json
import os

import pytest
from tests.unit.deploy.conftest import REPO, run_tool

PROFILES = {"production": "triton", "development": "triton-development",
            "performance": "triton-performance"}


def compose_config(profile: str, *, env_file: str | None = ".env.example") -> dict:
    args = ["docker-compose", "-f", "compose.yaml"]
    if env_file:
        args += ["--env-file", env_file]
    result = run_tool(*args, "--profile", profile, "config", "--format", "json",
                      env={k: v for k, v in os.environ.items() if k != "COMPOSE_PROFILES"})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("profile", PROFILES)
def test_compose_is_valid_for_each_profile(profile):
    services = compose_config(profile)["services"]
    expected = {PROFILES[profile], "gateway", "migrate", "postgres", "redis", "prometheus",
                "grafana"}
    assert set(services) == expected
    triton = services[PROFILES[profile]]
    assert triton["build"]["args"]["PIXEL_PROFILE"] == profile
    assert triton["image"].endswith(f":{profile}")


def test_schema_violations_are_caught(tmp_path):
    """The validator really checks the schema: a misspelt key fails."""
    bad = (REPO / "compose.yaml").read_text().replace("stop_grace_period:", "stop_grace_perod:", 1)
    (tmp_path / "compose.yaml").write_text(bad)
    (tmp_path / ".env").write_text((REPO / ".env.example").read_text())
    result = run_tool("docker-compose", "-f", str(tmp_path / "compose.yaml"), "config", "--quiet",
                      cwd=tmp_path)
    assert result.returncode != 0
    assert "stop_grace_perod" in result.stderr


def test_passwords_must_come_from_the_env_file():
    env = {k: v for k, v in os.environ.items() if k not in ("POSTGRES_PASSWORD", "COMPOSE_PROFILES")}
    result = run_tool("docker-compose", "-f", "compose.yaml", "--env-file", os.devnull,
                      "config", "--quiet", env=env)
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr


def test_triton_has_a_gpu_drains_and_checks_model_readiness():
    triton = compose_config("production")["services"]["triton"]
    devices = triton["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
    exit_timeout = int(triton["environment"]["TRITON_EXIT_TIMEOUT_SECS"])
    grace = int(triton["stop_grace_period"].rstrip("s"))
    assert grace > exit_timeout
    assert "/opt/pixel/bin/healthcheck.py" in triton["healthcheck"]["test"]
    assert triton["healthcheck"]["test"][-1] == "pixel"
    assert int(triton["shm_size"]) >= 1 << 30
    assert {p["target"] for p in triton["ports"]} == {8000, 8001, 8002}


def test_secrets_are_files_from_the_environment_and_not_in_service_env():
    config = compose_config("production")
    for name, secret in config["secrets"].items():
        assert "environment" in secret, f"secret {name} should be read from .env"
    example = dict(line.split("=", 1) for line in (REPO / ".env.example").read_text().splitlines()
                   if line and not line.startswith("#"))
    for name in ("POSTGRES_PASSWORD", "REDIS_PASSWORD", "GRAFANA_ADMIN_PASSWORD", "TRITON_ADMIN_KEY",
                 "PIXEL_STORE_KEY"):
        value = example[name]
        assert value.startswith("change-me"), f".env.example must hold a placeholder for {name}"
        for service_name, service in config["services"].items():
            env = json.dumps(service.get("environment", {}))
            # The one exception: the migration job's database URL carries the password.
            if (service_name, name) == ("migrate", "POSTGRES_PASSWORD"):
                assert value in service["environment"]["PIXEL_DB_URL"]
            else:
                assert value not in env, f"{name} leaks into {service_name}'s environment"


def test_support_services_listen_on_loopback_only():
    services = compose_config("production")["services"]
    for name in ("postgres", "redis", "prometheus", "grafana"):
        for port in services[name]["ports"]:
            assert port["host_ip"] == "127.0.0.1", f"{name} publishes {port} beyond this host"
    assert next(p for p in services["triton"]["ports"] if p["target"] == 8002)["host_ip"] == "127.0.0.1"


def test_migration_job_runs_once_after_postgres_is_healthy():
    migrate = compose_config("production")["services"]["migrate"]
    assert migrate["entrypoint"] == ["pixel", "db", "upgrade"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_dotenv_is_ignored_by_git():
    import subprocess

    result = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=REPO)
    assert result.returncode == 0, "add `.env` to .gitignore: it holds the stack's passwords"


def test_gateway_runs_in_production_mode_with_secrets_from_files():
    gateway = compose_config("production")["services"]["gateway"]
    command = " ".join(gateway["entrypoint"])
    assert "gateway.mode=production" in command and "store=postgres" in command
    assert "client.grpc_url=triton:8001" in command
    assert "/run/secrets/postgres_password" in command and "/run/secrets/pixel_store_key" in command
    assert {s["source"] for s in gateway["secrets"]} == {"postgres_password", "pixel_store_key"}
    assert "/health/live" in " ".join(gateway["healthcheck"]["test"])
    assert gateway["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert [p["target"] for p in gateway["ports"]] == [8080]
