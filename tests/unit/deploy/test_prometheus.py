"""Prometheus config and alert rules pass promtool (Debian's prometheus package), and the rules'
own unit tests (alerts.test.yml) show each alert firing and staying quiet on synthetic series."""

from __future__ import annotations

from tests.unit.deploy.conftest import REPO, run_tool

PROM = REPO / "containers" / "prometheus"


def test_config_is_valid():
    result = run_tool("promtool", "check", "config", str(PROM / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_rules_are_valid():
    result = run_tool("promtool", "check", "rules", str(PROM / "alerts.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "13 rules found" in result.stdout


def test_rule_unit_tests_pass():
    result = run_tool("promtool", "test", "rules", str(PROM / "alerts.test.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_rule_unit_tests_fail_when_a_threshold_moves(tmp_path):
    """The rule tests are not vacuous: a queue threshold of 400 ms no longer fires at 300 ms."""
    (tmp_path / "alerts.yml").write_text(
        (PROM / "alerts.yml").read_text().replace("/ 1000 > 200", "/ 1000 > 400"))
    (tmp_path / "alerts.test.yml").write_text((PROM / "alerts.test.yml").read_text())
    result = run_tool("promtool", "test", "rules", str(tmp_path / "alerts.test.yml"))
    assert result.returncode != 0
    assert "PixelQueueTimeHigh" in result.stdout + result.stderr


def test_scrapes_triton_metrics_port_and_the_client():
    import yaml

    config = yaml.safe_load((PROM / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["triton"]["static_configs"][0]["targets"] == ["triton:8002"]
    assert jobs["pixel-client"]["file_sd_configs"][0]["files"] == ["targets/*.json"]
    assert (PROM / "targets" / "pixel-client.json").is_file()
