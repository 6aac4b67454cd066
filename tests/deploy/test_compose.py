"""The compose try-it stack: Docker Compose's own parser checks compose.yaml (`docker-compose config` needs no engine),
promtool and amtool check the Prometheus and Alertmanager configurations exactly as the containers mount them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import COMPOSE, DASHBOARDS, JOB, ROOT, RULES, run, tool


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """compose.yaml as Docker Compose resolves it: relative paths made absolute, short syntax expanded."""
    result = run([tool("docker-compose"), "--file", str(COMPOSE), "config", "--format", "json"])
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def binds(service: dict[str, Any]) -> dict[str, Path]:
    """A service's bind mounts: container path -> host path."""
    return {v["target"]: Path(v["source"]) for v in service.get("volumes", []) if v["type"] == "bind"}


def mirror(service: dict[str, Any], root: str, into: Path) -> None:
    """Lays out, under `into`, the files the service sees under `root`: links to the bind-mounted host files."""
    for target, source in binds(service).items():
        if target.startswith(root + "/"):
            link = into / target.removeprefix(root + "/")
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(source)


def test_docker_compose_accepts_the_file(compose):
    assert set(compose["services"]) == {"exporter", "prometheus", "alertmanager", "grafana"}


def test_docker_compose_rejects_a_misspelt_key(tmp_path):
    bad = tmp_path / "compose.yaml"
    bad.write_text("services:\n  exporter:\n    imag: wolkvox-exporter\n")
    result = run([tool("docker-compose"), "--file", str(bad), "config"])
    assert result.returncode != 0 and "imag" in result.stderr


def test_every_bind_mount_source_exists(compose):
    # Compose would create a missing source as an empty directory, and the stack would start without its files.
    for name, service in compose["services"].items():
        for target, source in binds(service).items():
            assert source.exists(), f"{name}: {source} (mounted at {target}) does not exist"


def test_exporter_is_built_from_the_dockerfile_and_runs_the_demo(compose):
    exporter = compose["services"]["exporter"]
    assert Path(exporter["build"]["context"]) == ROOT and exporter["build"]["dockerfile"] == "Dockerfile"
    assert exporter["command"][0] == "--demo"
    assert [p["target"] for p in exporter["ports"]] == [9862]
    assert exporter["read_only"] is True and exporter["cap_drop"] == ["ALL"]


def test_prometheus_and_grafana_mount_the_project_rules_and_dashboards(compose):
    assert binds(compose["services"]["prometheus"])["/etc/prometheus/rules/wolkvox-rules.yml"] == RULES
    assert binds(compose["services"]["grafana"])["/var/lib/grafana/dashboards/wolkvox"] == DASHBOARDS


def test_promtool_accepts_the_prometheus_config_and_the_rules_it_loads(compose, tmp_path):
    mirror(compose["services"]["prometheus"], "/etc/prometheus", tmp_path)
    result = run([tool("promtool"), "check", "config", str(tmp_path / "prometheus.yml")])
    assert result.returncode == 0, result.stdout + result.stderr
    # The rule files were found and checked too, not just the configuration.
    assert f"Checking {tmp_path / 'rules' / 'wolkvox-rules.yml'}" in result.stdout
    assert "rule files found" in result.stdout and "0 rule files found" not in result.stdout


def test_amtool_accepts_the_alertmanager_config(compose, tmp_path):
    mirror(compose["services"]["alertmanager"], "/etc/alertmanager", tmp_path)
    result = run([tool("amtool"), "check-config", str(tmp_path / "alertmanager.yml")])
    assert result.returncode == 0 and "SUCCESS" in result.stdout, result.stdout + result.stderr


def test_prometheus_scrapes_the_exporter_with_the_job_the_rules_use_and_alerts_to_alertmanager(compose):
    config = yaml.safe_load(binds(compose["services"]["prometheus"])["/etc/prometheus/prometheus.yml"].read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs[JOB]["static_configs"] == [{"targets": ["exporter:9862"]}]
    targets = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert targets == ["alertmanager:9093"]
    assert [p["target"] for p in compose["services"]["alertmanager"]["ports"]] == [9093]


def test_grafana_provisions_the_prometheus_datasource_and_the_mounted_dashboards(compose):
    grafana = binds(compose["services"]["grafana"])
    datasources = yaml.safe_load(
        (grafana["/etc/grafana/provisioning/datasources"] / "prometheus.yml").read_text()
    )["datasources"]
    assert [(d["type"], d["url"], d["isDefault"]) for d in datasources] == [
        ("prometheus", "http://prometheus:9090", True)
    ]
    (provider,) = yaml.safe_load((grafana["/etc/grafana/provisioning/dashboards"] / "wolkvox.yml").read_text())[
        "providers"
    ]
    assert provider["type"] == "file" and provider["options"]["path"] == "/var/lib/grafana/dashboards/wolkvox"
    home = compose["services"]["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (DASHBOARDS / Path(home).relative_to("/var/lib/grafana/dashboards/wolkvox")).is_file()
