"""deploy/k8s/gateway renders with kustomize and validates strictly against the Kubernetes
schemas; the gateway runs in production mode, probes its health endpoints and scales on the
request rate that prometheus-adapter serves."""

from __future__ import annotations

import pytest
import yaml
from .conftest import REPO, run_tool

GATEWAY = REPO / "deploy" / "k8s" / "gateway"
ADAPTER = REPO / "deploy" / "k8s" / "prometheus-adapter" / "rules.yaml"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> tuple[str, dict]:
    result = run_tool("kubectl", "kustomize", str(GATEWAY))
    assert result.returncode == 0, result.stderr
    path = tmp_path_factory.mktemp("k8s-gateway") / "rendered.yaml"
    path.write_text(result.stdout)
    return str(path), {d["kind"]: d for d in yaml.safe_load_all(result.stdout) if d}


@pytest.mark.parametrize("version", ["1.30.0", "1.37.0"])
def test_gateway_manifests_validate(rendered, version):
    path, docs = rendered
    assert set(docs) == {"Secret", "Deployment", "Service", "HorizontalPodAutoscaler",
                         "PodDisruptionBudget"}
    result = run_tool("kubernetes-validate", "--strict", "-k", version, path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_gateway_is_production_mode_with_health_probes(rendered):
    _, docs = rendered
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["command"] == ["pixel", "gateway"]
    assert "gateway.mode=production" in container["args"] and "store=postgres" in container["args"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert container["envFrom"][0]["secretRef"]["name"] == docs["Secret"]["metadata"]["name"]
    assert all(value == "" for value in docs["Secret"]["stringData"].values())
    assert pod["securityContext"]["runAsNonRoot"] is True
    labels = docs["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert docs["Service"]["spec"]["selector"].items() <= labels.items()


def test_gateway_hpa_scales_on_the_request_rate_the_adapter_serves(rendered):
    _, docs = rendered
    hpa = docs["HorizontalPodAutoscaler"]
    assert hpa["spec"]["scaleTargetRef"]["name"] == docs["Deployment"]["metadata"]["name"]
    metric = hpa["spec"]["metrics"][0]["pods"]["metric"]["name"]
    rules = yaml.safe_load(yaml.safe_load(ADAPTER.read_text())["data"]["config.yaml"])["rules"]
    (rule,) = [r for r in rules if r["name"]["as"] == metric]
    assert "rate(pixel_gateway_requests_total" in rule["metricsQuery"]
