"""The Grafana dashboard and its provisioning fit together: panels use the provisioned datasource,
ids are unique, the provider loads the folder compose mounts the dashboards into."""

from __future__ import annotations

import json

import yaml
from tests.unit.deploy.conftest import REPO

GRAFANA = REPO / "containers" / "grafana"


def test_panels_use_the_provisioned_datasource():
    datasource = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())
    uid = datasource["datasources"][0]["uid"]
    dashboard = json.loads((GRAFANA / "dashboards" / "pixel.json").read_text())
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert len(panels) >= 12
    for panel in panels:
        assert panel["datasource"]["uid"] == uid, panel["title"]
        assert all(t["datasource"]["uid"] == uid for t in panel["targets"])
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_provider_loads_the_folder_compose_mounts():
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "pixel.yml").read_text())
    path = provider["providers"][0]["options"]["path"]
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"./containers/grafana/dashboards:{path}:ro" in mounts


def test_dashboard_titles_cover_the_issue_list():
    dashboard = json.loads((GRAFANA / "dashboards" / "pixel.json").read_text())
    titles = " | ".join(p["title"].lower() for p in dashboard["panels"])
    for topic in ("request rate", "latency percentiles", "queue time", "compute time",
                  "gpu utilisation", "gpu memory", "cache hit rate", "crisis flags"):
        assert topic in titles, topic
