"""deploy/k8s renders with kustomize (kubectl's built-in) and every resource validates, strictly,
against the Kubernetes JSON schemas of the oldest and newest versions we support (offline,
kubernetes-validate); the Deployment keeps the production rules."""

from __future__ import annotations

import pytest
import yaml
from tests.unit.deploy.conftest import REPO, run_tool

K8S = REPO / "deploy" / "k8s"
# 1.30: the first release where preStop `sleep` is on by default.
VERSIONS = ["1.30.0", "1.37.0"]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> tuple[str, dict]:
    result = run_tool("kubectl", "kustomize", str(K8S))
    assert result.returncode == 0, result.stderr
    path = tmp_path_factory.mktemp("k8s") / "rendered.yaml"
    path.write_text(result.stdout)
    docs = {d["kind"]: d for d in yaml.safe_load_all(result.stdout) if d}
    return str(path), docs


@pytest.mark.parametrize("version", VERSIONS)
def test_manifests_validate_against_kubernetes_schemas(rendered, version):
    path, docs = rendered
    assert set(docs) == {"Namespace", "ConfigMap", "Secret", "Deployment", "Service",
                         "HorizontalPodAutoscaler", "PodDisruptionBudget"}
    result = run_tool("kubernetes-validate", "--strict", "-k", version, path,
                      str(K8S / "prometheus-adapter" / "rules.yaml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("passed for resource") == len(docs) + 1


def test_validator_rejects_a_misspelt_field(rendered, tmp_path):
    path, _ = rendered
    bad = tmp_path / "bad.yaml"
    bad.write_text(open(path).read().replace("readinessProbe:", "readynessProbe:"))
    result = run_tool("kubernetes-validate", "--strict", bad.as_posix())
    assert result.returncode != 0


def test_deployment_requests_a_gpu_and_probes_truthfully(rendered):
    _, docs = rendered
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["resources"]["requests"]["nvidia.com/gpu"] == 1
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert container["startupProbe"]["httpGet"]["path"] == "/v2/models/pixel/ready"
    # Readiness and liveness run the health check (a dead stub leaves model readiness at 200).
    readiness = container["readinessProbe"]["exec"]["command"]
    assert readiness[1] == "/opt/pixel/bin/healthcheck.py" and "readiness" in readiness
    assert readiness[readiness.index("--probe-model") + 1] == "pixel"
    assert "liveness" in container["livenessProbe"]["exec"]["command"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001  # the Dockerfile's user
    assert {p["containerPort"] for p in container["ports"]} == {8000, 8001, 8002}


def test_grace_period_outlasts_tritons_exit_timeout(rendered):
    _, docs = rendered
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    exit_timeout = int(docs["ConfigMap"]["data"]["TRITON_EXIT_TIMEOUT_SECS"])
    pre_stop = pod["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert pod["terminationGracePeriodSeconds"] > exit_timeout + pre_stop


def test_service_and_hpa_point_at_the_deployment(rendered):
    _, docs = rendered
    deployment, service, hpa = docs["Deployment"], docs["Service"], docs["HorizontalPodAutoscaler"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert hpa["spec"]["minReplicas"] >= 2


def test_hpa_metric_is_the_one_prometheus_adapter_serves(rendered):
    _, docs = rendered
    metric = docs["HorizontalPodAutoscaler"]["spec"]["metrics"][0]["pods"]["metric"]["name"]
    adapter = yaml.safe_load(yaml.safe_load((K8S / "prometheus-adapter" / "rules.yaml").read_text())
                             ["data"]["config.yaml"])
    assert metric in {rule["name"]["as"] for rule in adapter["rules"]}


def test_secret_commits_no_value(rendered):
    _, docs = rendered
    assert all(value == "" for value in docs["Secret"]["stringData"].values())
