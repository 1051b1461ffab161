"""The shipped alerting configuration: Prometheus rules under promtool, Grafana provisioning
checked for structure and for the same alerts as Prometheus."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import yaml

CONFIG = Path(__file__).resolve().parent.parent / "collector-config"
GRAFANA = CONFIG / "grafana"


def prometheus_alerts() -> dict[str, dict]:
    groups = yaml.safe_load((CONFIG / "prometheus/alerts.yml").read_text())["groups"]
    return {rule["alert"]: rule for group in groups for rule in group["rules"]}


def test_prometheus_rules_pass_their_promtool_unit_tests():
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: apt-get install prometheus"
    result = subprocess.run(
        [promtool, "test", "rules", "alerts_test.yml"],
        cwd=CONFIG / "prometheus",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_incident_rule_handles_brand_new_series():
    for name, rule in prometheus_alerts().items():
        if "increase(ai_incident_events_total" in rule["expr"] and "[15m]" not in rule["expr"]:
            assert "unless" in rule["expr"] and "offset" in rule["expr"], name


def test_grafana_alert_rules_match_the_prometheus_alerts():
    provisioned = yaml.safe_load((GRAFANA / "provisioning/alerting/ai-incidents.yaml").read_text())
    rules = {rule["title"]: rule for group in provisioned["groups"] for rule in group["rules"]}
    alerts = prometheus_alerts()

    assert set(rules) == set(alerts)
    for title, rule in rules.items():
        assert rule["labels"]["severity"] == alerts[title]["labels"]["severity"]
        query = next(d for d in rule["data"] if d["refId"] == "A")
        assert query["datasourceUid"] == "ai-incidents-prometheus"
        metric = "ai_drift_psi" if title == "AIDriftSignificant" else "ai_incident_events_total"
        assert metric in query["model"]["expr"]
        assert rule["condition"] in {d["refId"] for d in rule["data"]}


def test_grafana_dashboard_and_datasource_fit_together():
    datasources = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yaml").read_text())
    uid = datasources["datasources"][0]["uid"]
    dashboard = json.loads((GRAFANA / "dashboards/ai-incidents.json").read_text())
    provider = yaml.safe_load((GRAFANA / "provisioning/dashboards/ai-incidents.yaml").read_text())

    assert provider["providers"][0]["type"] == "file"
    assert dashboard["uid"] == "ai-incidents"
    titles = [panel["title"] for panel in dashboard["panels"]]
    assert len(titles) == len(set(titles))
    expressions = " ".join(t["expr"] for panel in dashboard["panels"] for t in panel["targets"])
    for needed in ("ai_incident_events_total", "ai_evaluation_score_bucket", "ai_drift_psi",
                   "ai_incident_severity", "gen_ai_request_model"):  # fmt: skip
        assert needed in expressions
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == uid
        assert {"x", "y", "w", "h"} <= set(panel["gridPos"])
