"""The Helm chart, checked with Helm's own Go SDK (helm-python-sdk), Kubernetes' schemas (kubernetes-validate) and the
Prometheus Operator's CRD schemas (@kubernetes-models/prometheus-operator, see crd/)."""

from __future__ import annotations

import base64
import json
import re
import shutil
import socket
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import (
    CHART,
    DASHBOARDS,
    EXPORTER_UID,
    FULLNAME,
    GENERATE,
    JOB,
    NAMESPACE,
    RELEASE,
    ROOT,
    RULES,
    TOKEN,
    VALUE_SETS,
    exporter_container,
    missing,
    only,
    run,
    tool,
)

TOKEN_DIR = "/etc/wolkvox-exporter/secret"


@pytest.fixture(scope="session")
def kubernetes_version() -> str:
    """The newest Kubernetes version whose schemas kubernetes-validate ships (1.37 with the pinned 1.37.0)."""
    try:
        from kubernetes_validate import utils
    except ImportError:
        missing("the Python package kubernetes-validate")
    return utils.latest_version()


def dashboard_files() -> dict[str, bytes]:
    files = {p.name: p.read_bytes() for p in sorted(DASHBOARDS.glob("*.json"))}
    assert files, f"no dashboards in {DASHBOARDS}"
    return files


# --- lint and Kubernetes schemas ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_helm_lint_passes_in_strict_mode(helm, kubernetes_version, value_set):
    report = helm.lint(CHART, VALUE_SETS[value_set], strict=True, kube_version=f"v{kubernetes_version}")
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert report["errors"] == [] and problems == [], report


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_every_rendered_kubernetes_object_validates_against_the_current_kubernetes_schemas(
    render, kubernetes_version, value_set
):
    from kubernetes_validate import utils

    objects, _ = render(VALUE_SETS[value_set])
    core = [o for o in objects if not o["apiVersion"].startswith("monitoring.coreos.com/")]
    assert only(core, "Deployment") and only(core, "Service")
    for obj in core:
        try:
            # strict: a field that Kubernetes does not know is an error, not silently dropped.
            utils.validate(obj, kubernetes_version, strict=True)
        except utils.ValidationError as e:
            path = ".".join(str(p) for p in e.path)
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {path}: {e.message}", pytrace=False)


@pytest.mark.parametrize("value_set", ["monitoring-on", "web-config-tls", "rules-tuned", "ci/podmonitor-values.yaml"])
def test_servicemonitor_and_prometheusrule_validate_against_the_prometheus_operator_crd_schemas(
    render, crd_validate, value_set
):
    objects, _ = render(VALUE_SETS[value_set])
    operator_objects = [o for o in objects if o["apiVersion"].startswith("monitoring.coreos.com/")]
    assert operator_objects
    code, results = crd_validate(operator_objects)
    assert code == 0 and [r["error"] for r in results] == [None] * len(operator_objects), results
    assert sorted(r["kind"] for r in results) == sorted(o["kind"] for o in operator_objects)


def test_crd_validator_rejects_a_servicemonitor_with_a_wrong_field(render, crd_validate):
    objects, _ = render(VALUE_SETS["monitoring-on"])
    monitor = only(objects, "ServiceMonitor")
    monitor["spec"]["endpoints"][0]["interval"] = "every minute"
    code, results = crd_validate([monitor])
    assert code == 1 and "interval" in results[0]["error"], results


# --- the token ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value_set", "secret_name", "secret_key"),
    [("defaults-with-token", FULLNAME, "token"), ("existing-secret", "wolkvox-token", "api-token")],
)
def test_token_reaches_the_exporter_only_as_a_mounted_file(render, value_set, secret_name, secret_key):
    objects, _ = render(VALUE_SETS[value_set])
    container = exporter_container(objects)
    pod = only(objects, "Deployment")["spec"]["template"]["spec"]

    assert f"--wolkvox.token-file={TOKEN_DIR}/token" in container["args"]
    # Exactly this mount: a subPath mount would never see a rotated Secret.
    assert {"name": "token", "mountPath": TOKEN_DIR, "readOnly": True} in container["volumeMounts"]
    volume = next(v for v in pod["volumes"] if v["name"] == "token")
    assert volume["secret"]["secretName"] == secret_name
    assert volume["secret"]["items"] == [{"key": secret_key, "path": "token"}]
    # Never as an environment value, plain or from the Secret.
    assert "envFrom" not in container
    assert not [e for e in container.get("env", []) if e["name"].startswith("WOLKVOX_TOKEN")]


def test_operations_tokens_reach_the_exporter_only_as_mounted_files(render):
    objects, _ = render(VALUE_SETS["operations"])
    container = exporter_container(objects)
    pod = only(objects, "Deployment")["spec"]["template"]["spec"]
    assert "--config.file=/etc/wolkvox-exporter/config/operations.yml" in container["args"]
    assert {"name": "tokens", "mountPath": "/etc/wolkvox-exporter/tokens", "readOnly": True} in container["volumeMounts"]
    tokens = next(v for v in pod["volumes"] if v["name"] == "tokens")
    assert [source["secret"] for source in tokens["projected"]["sources"]] == [
        {"name": FULLNAME, "items": [{"key": "token-0", "path": "0"}]},
        {"name": "wolkvox-monterrey", "items": [{"key": "api-token", "path": "1"}]},
    ]
    assert "envFrom" not in container and "env" not in container
    secret = only(objects, "Secret")
    assert {k: base64.b64decode(v).decode() for k, v in secret["data"].items()} == {"token-0": TOKEN}
    assert TOKEN not in yaml.safe_dump_all([o for o in objects if o["kind"] != "Secret"])


def test_operations_file_lists_each_operation_with_its_token_file_and_overrides(render):
    objects, _ = render(VALUE_SETS["operations"])
    config_map = next(o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"].endswith("-operations"))
    config = yaml.safe_load(config_map["data"]["operations.yml"])
    assert config["operations"] == [
        {"name": "bogota", "server": "0032", "token_file": "../tokens/0"},
        {
            "name": "monterrey",
            "server": "0048",
            "token_file": "../tokens/1",
            "timezone": "America/Monterrey",
            "poll_interval": "10m",
            "url": "https://wolkvox-proxy.example.internal",
        },
    ]
    assert {k: v for k, v in config.items() if k != "operations"} == {
        "timezone": "America/Bogota",
        "window": "today",
        "time_unit": "minutes",
        "poll_interval": "5m",
        "poll_timeout": "60s",
    }
    # With the file, no single-operation flag: the exporter refuses the two together.
    args = exporter_container(objects)["args"]
    assert not [a for a in args if a.startswith(("--wolkvox.", "--operation", "--report.", "--poll.", "--demo"))]


def test_exporter_accepts_the_operations_file_the_chart_writes(render, exporter_binary, tmp_path):
    # `check` validates the file as the exporter does at start (exit 2 and one line when it is wrong), then calls each
    # operation: here at a loopback port where nothing listens, so every call fails at once (exit 1).
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    values = {"operations": [{**op, "url": closed} for op in VALUE_SETS["operations"]["operations"]]}
    objects, _ = render(values)
    config_map = next(o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"].endswith("-operations"))
    # The pod's layout: the ConfigMap in config/, one token file per operation in tokens/.
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "operations.yml").write_text(config_map["data"]["operations.yml"])
    (tmp_path / "tokens").mkdir()
    for i, _ in enumerate(values["operations"]):
        (tmp_path / "tokens" / str(i)).write_text(f"token-of-operation-{i}\n")
    result = run(
        [str(exporter_binary), "check", "--config.file", str(tmp_path / "config" / "operations.yml"), "--output", "json"],
        timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert [(r["operation"], r["server"], r["result"]) for r in report] == [
        ("bogota", "0032", "network_error"),
        ("monterrey", "0048", "network_error"),
    ]


def test_names_reach_the_exporter_as_a_mounted_names_file_that_it_accepts(render, exporter_binary, tmp_path):
    names = VALUE_SETS["names"]["names"]
    objects, _ = render(VALUE_SETS["names"])
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert "--names.file=/etc/wolkvox-exporter/names/names.yml" in container["args"]
    # Without subPath, so that the kubelet updates the file and the exporter reloads it.
    mount = next(m for m in container["volumeMounts"] if m["name"] == "names")
    assert mount == {"name": "names", "mountPath": "/etc/wolkvox-exporter/names", "readOnly": True}
    volume = next(v for v in pod["volumes"] if v["name"] == "names")
    config_map = next(
        o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == volume["configMap"]["name"]
    )
    text = config_map["data"]["names.yml"]
    assert yaml.safe_load(text) == {"operations": names}
    # The exporter loads it as it loads a names file at start (exit 2 and one line when it is wrong).
    (tmp_path / "names.yml").write_text(text)
    result = run([str(exporter_binary), "check", "--demo", "--names.file", str(tmp_path / "names.yml")], timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    # Without names, nothing of it.
    objects, _ = render(VALUE_SETS["demo"])
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    assert not any("--names.file" in a for a in deployment["spec"]["template"]["spec"]["containers"][0]["args"])
    assert not any(o["kind"] == "ConfigMap" and o["metadata"]["name"].endswith("-names") for o in objects)


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_every_flag_the_chart_passes_is_one_the_exporter_knows(render, exporter_binary, value_set):
    known = set(re.findall(r"(--[a-z][a-z0-9.-]+)", run([str(exporter_binary), "--help"]).stdout))
    args = exporter_container(render(VALUE_SETS[value_set])[0])["args"]
    assert {a.split("=", 1)[0] for a in args} <= known


def test_token_value_appears_only_in_the_secret_the_chart_makes(render):
    objects, notes = render(VALUE_SETS["defaults-with-token"])
    secret = only(objects, "Secret")
    assert base64.b64decode(secret["data"]["token"]).decode() == TOKEN
    others = [o for o in objects if o["kind"] != "Secret"]
    assert TOKEN not in yaml.safe_dump_all(others) + notes


def test_existing_secret_makes_the_chart_create_no_secret(render):
    objects, _ = render(VALUE_SETS["existing-secret"])
    assert [o for o in objects if o["kind"] == "Secret"] == []


def test_demo_mode_needs_no_server_and_no_token(render):
    objects, _ = render(VALUE_SETS["demo"])
    container = exporter_container(objects)
    assert "--demo" in container["args"]
    assert not [a for a in container["args"] if a.startswith(("--wolkvox.server", "--wolkvox.token-file"))]
    assert [o for o in objects if o["kind"] == "Secret"] == []


# --- the pod -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_pod_runs_hardened_as_the_fixed_non_root_user(render, value_set):
    objects, _ = render(VALUE_SETS[value_set])
    pod = only(objects, "Deployment")["spec"]["template"]["spec"]
    container = exporter_container(objects)
    for context in (pod["securityContext"], container["securityContext"]):
        assert context["runAsNonRoot"] is True
        assert context["runAsUser"] == EXPORTER_UID
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert pod["automountServiceAccountToken"] is False


def test_dockerfile_user_is_the_chart_user():
    users = re.findall(r"^USER\s+(\S+)", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert users == [f"{EXPORTER_UID}:{EXPORTER_UID}"]


def test_probes_check_healthz_for_liveness_and_readyz_for_readiness(render):
    objects, _ = render(VALUE_SETS["defaults-with-token"])
    container = exporter_container(objects)
    assert container["ports"] == [{"name": "http", "containerPort": 9862, "protocol": "TCP"}]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http", "scheme": "HTTP"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http", "scheme": "HTTP"}
    assert "--web.listen-address=:9862" in container["args"]


def test_web_config_is_mounted_and_tls_switches_probes_and_scrapes_to_https(render):
    objects, notes = render(VALUE_SETS["web-config-tls"])
    container = exporter_container(objects)
    pod = only(objects, "Deployment")["spec"]["template"]["spec"]
    assert "--web.config.file=/etc/wolkvox-exporter/web/web-config.yml" in container["args"]
    assert {"name": "web-config", "mountPath": "/etc/wolkvox-exporter/web", "readOnly": True} in container["volumeMounts"]
    assert {"name": "web-config", "secret": {"secretName": "wolkvox-web", "defaultMode": 0o440}} in pod["volumes"]
    assert container["livenessProbe"]["httpGet"]["scheme"] == "HTTPS"
    assert container["readinessProbe"]["httpGet"]["scheme"] == "HTTPS"
    endpoint = only(objects, "ServiceMonitor")["spec"]["endpoints"][0]
    assert endpoint["scheme"] == "https"
    assert endpoint["tlsConfig"] == {"insecureSkipVerify": True}
    assert endpoint["basicAuth"]["password"] == {"name": "wolkvox-scrape", "key": "password"}
    assert "curl -k https://127.0.0.1:9862/metrics" in notes


def test_without_web_config_probes_and_scrapes_use_plain_http(render):
    objects, _ = render(VALUE_SETS["monitoring-on"])
    container = exporter_container(objects)
    assert not [a for a in container["args"] if a.startswith("--web.config.file")]
    assert container["livenessProbe"]["httpGet"]["scheme"] == "HTTP"
    assert only(objects, "ServiceMonitor")["spec"]["endpoints"][0]["scheme"] == "http"


def test_container_has_cpu_and_memory_requests_and_limits(render):
    objects, _ = render(VALUE_SETS["defaults-with-token"])
    resources = exporter_container(objects)["resources"]
    for kind in ("requests", "limits"):
        assert set(resources[kind]) >= {"cpu", "memory"}, resources


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_one_pod_at_a_time_replaced_with_recreate(render, value_set):
    # Wolkvox refuses simultaneous requests with one token: a rolling update would run two pollers at once.
    deployment = only(render(VALUE_SETS[value_set])[0], "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}


def test_flags_carry_the_values(render):
    objects, _ = render(VALUE_SETS["monitoring-on"])
    args = exporter_container(objects)["args"]
    for flag in (
        "--wolkvox.server=0032",
        "--wolkvox.timezone=America/Bogota",
        "--operation=bogota",
        "--report.window=today",
        "--poll.interval=5m",
        "--log.format=logfmt",
    ):
        assert flag in args


def test_optional_parts_off_render_only_the_exporter_and_its_service(render):
    objects, _ = render(VALUE_SETS["optional-parts-off"])
    assert sorted(o["kind"] for o in objects) == ["Deployment", "Service"]
    pod = only(objects, "Deployment")["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "default"


# --- rules and dashboards: the mixin's output, as real files -------------------------------------------------------


@pytest.fixture(scope="session")
def generated(tmp_path_factory) -> Path:
    """What scripts/generate-mixin writes, rendered afresh into a directory of its own."""
    tool("jsonnet")
    out = tmp_path_factory.mktemp("generated")
    result = run([str(GENERATE), "--out", str(out)])
    assert result.returncode == 0, result.stderr
    return out


def mixin(expression: str, config: dict[str, Any] | None = None) -> Any:
    """A Jsonnet expression over the mixin, evaluated; `config` is given to mixin/rules.jsonnet's config."""
    args = [tool("jsonnet"), "-J", str(ROOT)]
    if config is not None:
        args += ["--tla-code", f"config={json.dumps(config)}"]
    result = run([*args, "-e", expression], cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_chart_files_are_real_files_equal_to_the_mixins_output(generated):
    # GitOps tools that install a chart from Git drop symlinks that leave the chart (fluxcd/source-controller#569).
    links = [p for p in CHART.rglob("*") if p.is_symlink()]
    assert links == []
    files = CHART / "files"
    shipped = {p.relative_to(files): p.read_bytes() for p in sorted(files.rglob("*")) if p.is_file()}
    rendered_dir = generated / "helm" / "wolkvox-exporter" / "files"
    rendered = {p.relative_to(rendered_dir): p.read_bytes() for p in sorted(rendered_dir.rglob("*")) if p.is_file()}
    assert sorted(shipped) == sorted(rendered)
    assert len(shipped) == 3
    for name, content in shipped.items():
        assert content == rendered[name], f"{files / name} differs from the mixin's output: run scripts/generate-mixin"


def test_prometheusrule_spec_is_the_project_rule_file(render):
    objects, _ = render(VALUE_SETS["monitoring-on"])
    rule = only(objects, "PrometheusRule")
    assert rule["spec"] == yaml.safe_load(RULES.read_text())
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def test_chart_defaults_are_the_mixins_defaults(chart):
    defaults = mixin("(import 'mixin/mixin.libsonnet')._config")
    values = chart.values["prometheusRule"]["config"]
    # The chart's empty selector stands for the job label of its ServiceMonitor, the mixin's default job.
    assert values.pop("exporterSelector") == ""
    assert defaults.pop("exporterSelector") == f'job="{chart.values["serviceMonitor"]["jobLabel"]}"'
    for grafana_only in ("dashboardTags", "dashboardRefresh"):
        defaults.pop(grafana_only)
    # The parameters that shape the recording rules themselves (how many there are, their offsets, constants computed
    # from them) cannot stand as a placeholder in the chart's copy: the chart ships the mixin's defaults. pulsePolls,
    # pulseFactor and pulseEvidence are no longer used; the mixin keeps them so that configurations stay valid.
    for structural in ("pollIntervalSeconds", "pulsePolls", "pulseFactor", "pulseEvidence"):
        defaults.pop(structural)
    # The menu alerts' parameters, likewise: the chart ships the mixin's defaults of them.
    for structural in ("menuPolls", "menuBaseline", "menuSurgeFactor", "menuSilentEvidence", "menuSurgeEvidence",
                       "menuSeverity"):
        defaults.pop(structural)
    assert values == defaults


def test_disabled_alerts_accepts_exactly_the_alerts_of_the_rules(chart):
    alerts = [r["alert"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"] if "alert" in r]
    enum = chart.schema["properties"]["prometheusRule"]["properties"]["disabledAlerts"]["items"]["enum"]
    assert sorted(enum) == sorted(alerts) and len(alerts) == 12


def test_prometheusrule_with_other_values_is_the_mixin_rendered_with_them_and_promtool_accepts_it(render, tmp_path):
    values = VALUE_SETS["rules-tuned"]["prometheusRule"]
    objects, _ = render(VALUE_SETS["rules-tuned"])
    spec = only(objects, "PrometheusRule")["spec"]

    # The mixin rendered with the same parameters, the selector from the ServiceMonitor's job label, then what the chart
    # adds: the alert left out, the extra labels and annotations on every alert.
    config = {**values["config"], "exporterSelector": 'job="ivr-exporter"'}
    expected = yaml.safe_load(mixin("import 'mixin/rules.jsonnet'", config))
    for group in expected["groups"]:
        group["rules"] = [r for r in group["rules"] if r.get("alert") != "WolkvoxTokenBudgetLow"]
        for r in group["rules"]:
            if "alert" in r:
                r["labels"] |= {"team": "contact-centre"}
                r["annotations"] |= {"dashboard": "https://grafana.example.com/d/wolkvox-ivr"}
    assert spec == expected

    rules = [r for g in spec["groups"] for r in g["rules"]]
    alerts = {r["alert"]: r for r in rules if "alert" in r}
    assert "WolkvoxTokenBudgetLow" not in alerts and len(alerts) == 11
    assert alerts["WolkvoxExporterAbsent"]["expr"] == 'absent(up{job="ivr-exporter"})'
    assert alerts["WolkvoxIvrPulseSpike"]["labels"] == {"severity": "warning", "team": "contact-centre"}
    assert alerts["WolkvoxIvrPulseSpike"]["annotations"]["runbook_url"] == (
        "https://wiki.example.com/runbooks/wolkvox#wolkvoxivrpulsespike"
    )
    assert alerts["WolkvoxConfigReloadFailed"]["for"] == "15m"
    records = [r["record"] for r in rules if "record" in r]
    assert "wolkvox_rp:ivr_pulse_share_threshold:ratio30m" in records
    # The chart's extra labels go on the alerts only; a record keeps the mixin's own labels (the menu windows' `polls`).
    assert all("team" not in r.get("labels", {}) for r in rules if "record" in r)
    assert any("labels" in r for r in rules if "record" in r)
    text = yaml.safe_dump(spec)
    for default in ("[15m]", "ratio15m", 'job="wolkvox-exporter"', "git.example.com", "@@"):
        assert default not in text

    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump(spec))
    result = run([tool("promtool"), "check", "rules", str(path)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout and len(rules) >= 16


def test_dashboards_name_the_recording_rules_of_the_chosen_window(render):
    objects, _ = render(VALUE_SETS["rules-tuned"])
    texts = "".join(text for o in objects if o["kind"] == "ConfigMap" for text in o["data"].values())
    assert "wolkvox_rp:ivr_pulse_share:ratio30m{" in texts
    assert "ratio15m" not in texts and "@@" not in texts


def test_dashboard_configmaps_are_the_project_dashboards_labelled_for_the_grafana_sidecar(render):
    objects, _ = render(VALUE_SETS["monitoring-on"])
    maps = [o for o in objects if o["kind"] == "ConfigMap"]
    shipped = {}
    for config_map in maps:
        assert config_map["metadata"]["labels"]["example.com/dashboard"] == "wolkvox"
        assert config_map["metadata"]["annotations"] == {"k8s-sidecar-target-directory": "Contact centre"}
        assert len(config_map["data"]) == 1
        shipped.update({name: text.encode() for name, text in config_map["data"].items()})
    assert shipped == dashboard_files()


def test_dashboard_configmaps_have_the_default_sidecar_label_and_no_folder_unless_asked(render):
    objects, _ = render({**VALUE_SETS["defaults-with-token"], "dashboards": {"enabled": True}})
    maps = [o for o in objects if o["kind"] == "ConfigMap"]
    assert len(maps) == len(dashboard_files())
    for config_map in maps:
        assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert "annotations" not in config_map["metadata"]


def test_servicemonitor_gives_the_job_label_the_rules_and_dashboards_use(render):
    objects, _ = render(VALUE_SETS["monitoring-on"])
    endpoint = only(objects, "ServiceMonitor")["spec"]["endpoints"][0]
    assert endpoint["port"] == "http-metrics" and endpoint["path"] == "/metrics"
    assert {"targetLabel": "job", "replacement": JOB, "action": "replace"} in endpoint["relabelings"]
    service = only(objects, "Service")
    assert [p["name"] for p in service["spec"]["ports"]] == ["http-metrics"]
    # Every literal job matcher in the rules and dashboards names that job (Grafana's $job variables aside).
    texts = [RULES.read_text()] + [b.decode() for b in dashboard_files().values()]
    jobs = {m for text in texts for m in re.findall(r'\bjob\s*=~?\s*\\?"([^"\\$]+)\\?"', text)}
    assert jobs <= {JOB}, jobs


def test_podmonitor_selects_the_exporters_pods_and_scrapes_their_metrics_port(render):
    objects, _ = render(VALUE_SETS["ci/podmonitor-values.yaml"])
    assert not [o for o in objects if o["kind"] == "ServiceMonitor"]
    monitor = only(objects, "PodMonitor")
    workload = only(objects, "Deployment")
    pod_labels = workload["spec"]["template"]["metadata"]["labels"]
    assert monitor["metadata"]["namespace"] == NAMESPACE
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector == workload["spec"]["selector"]["matchLabels"] and selector.items() <= pod_labels.items()
    [endpoint] = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["port"] in [p["name"] for p in exporter_container(objects)["ports"]]
    assert (endpoint["path"], endpoint["scheme"]) == ("/metrics", "https")
    assert (endpoint["interval"], endpoint["scrapeTimeout"]) == ("30s", "5s")
    assert endpoint["tlsConfig"] == {"insecureSkipVerify": True}
    assert endpoint["basicAuth"]["password"] == {"name": "wolkvox-scrape", "key": "password"}
    assert endpoint["relabelings"] == [
        {"targetLabel": "job", "replacement": "wolkvox", "action": "replace"},
        {"targetLabel": "cluster", "replacement": "production"},
    ]
    assert endpoint["metricRelabelings"] == [{"sourceLabels": ["__name__"], "regex": "process_.*", "action": "drop"}]


def test_podmonitor_scrapes_every_shard_and_gives_the_rules_its_job_label(render):
    objects, notes = render({**sharded(3), "serviceMonitor": {"enabled": False}, "podMonitor": {"enabled": True, "jobLabel": "ivr"}})
    monitor = only(objects, "PodMonitor")
    statefulset = only(objects, "StatefulSet")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= statefulset["spec"]["template"]["metadata"]["labels"].items()
    assert monitor["spec"]["podMetricsEndpoints"][0]["port"] == "http"
    assert 'job="ivr"' in notes and "A PodMonitor scrapes it" in notes


def test_podmonitor_job_label_is_the_one_the_rules_select(render):
    objects, _ = render({"demo": True, "podMonitor": {"enabled": True, "jobLabel": "ivr"}, "prometheusRule": {"enabled": True}})
    rules = json.dumps(only(objects, "PrometheusRule")["spec"])
    assert 'job=\\"ivr\\"' in rules and f'job=\\"{JOB}\\"' not in rules


def test_podmonitor_and_servicemonitor_together_are_refused(helm, chart):
    values = {"demo": True, "serviceMonitor": {"enabled": True}, "podMonitor": {"enabled": True}}
    with pytest.raises(helm.HelmRenderError, match="scrape the same pods twice: enable one of them"):
        chart.render(values, name="wv", namespace="m")


def test_extra_objects_are_rendered_as_given_with_the_release_name_filled_in(render):
    external_secret = {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": "{{ .Release.Name }}-token", "annotations": {"note": "plain text, {{ .Release.Namespace }}"}},
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRef": {"kind": "ClusterSecretStore", "name": "vault"},
            "target": {"name": "{{ .Release.Name }}-token"},
            "data": [{"secretKey": "token", "remoteRef": {"key": "wolkvox/bogota", "property": "token"}}],
        },
    }
    values = {"wolkvox": {"server": "0032", "existingSecret": {"name": f"{RELEASE}-token"}}, "extraObjects": [external_secret]}
    objects, _ = render(values)
    rendered = only(objects, "ExternalSecret")
    expected = json.loads(
        json.dumps(external_secret).replace("{{ .Release.Name }}", RELEASE).replace("{{ .Release.Namespace }}", NAMESPACE)
    )
    assert rendered == expected
    # The pod reads the token from the Secret that object makes.
    pod = only(objects, "Deployment")["spec"]["template"]["spec"]
    assert [v["secret"]["secretName"] for v in pod["volumes"] if v["name"] == "token"] == [f"{RELEASE}-token"]


def test_extra_objects_of_the_ci_values_render_each_object_once(render):
    objects, _ = render(VALUE_SETS["ci/podmonitor-values.yaml"])
    secret = only(objects, "Secret")
    assert secret["metadata"] == {"name": f"{RELEASE}-scrape", "labels": {"app.kubernetes.io/instance": RELEASE}}
    assert secret["stringData"] == {"username": "prometheus"}
    assert not [o for o in render({"demo": True})[0] if o["kind"] == "Secret"]


def test_packaged_chart_carries_the_generated_files(helm, tmp_path):
    archive = Path(helm.package(CHART, destination=tmp_path))
    files = CHART / "files"
    with tarfile.open(archive) as tar:
        for path in sorted(files.rglob("*.*")):
            member = tar.extractfile(f"wolkvox-exporter/files/{path.relative_to(files)}")
            assert member is not None and member.read() == path.read_bytes()
    with helm.Chart.load(archive) as packaged:
        rendered = packaged.render(VALUE_SETS["monitoring-on"], name="wv", namespace=NAMESPACE)
    rules = next(text for text in rendered.values() if "kind: PrometheusRule" in text)
    assert yaml.safe_load(rules)["spec"] == yaml.safe_load(RULES.read_text())


# --- extra volumes, NetworkPolicy, icon, ci values --------------------------------------------------------------


def test_ci_value_files_exist_and_are_among_the_tested_value_sets():
    ci = sorted(p.name for p in (CHART / "ci").glob("*-values.yaml"))
    assert len(ci) >= 3
    assert {f"ci/{name}" for name in ci} <= set(VALUE_SETS)


def test_extra_volumes_mount_a_proxy_ca_bundle_that_ssl_cert_file_names(render):
    objects, _ = render(VALUE_SETS["ci/hardened-values.yaml"])
    pod = only(objects, "Deployment")["spec"]["template"]["spec"]
    container = exporter_container(objects)
    assert {"name": "proxy-ca", "configMap": {"name": "proxy-ca"}} in pod["volumes"]
    assert {"name": "proxy-ca", "mountPath": "/etc/proxy-ca", "readOnly": True} in container["volumeMounts"]
    assert {"name": "SSL_CERT_FILE", "value": "/etc/proxy-ca/ca.crt"} in container["env"]
    # The token's own volume and mount stay.
    assert [v["name"] for v in pod["volumes"]] == ["token", "proxy-ca"]


def test_extra_volumes_alone_give_the_demo_pod_its_volumes(render):
    extra = {"extraVolumes": [{"name": "scratch", "emptyDir": {}}], "extraVolumeMounts": [{"name": "scratch", "mountPath": "/tmp"}]}
    objects, _ = render({"demo": True, **extra})
    pod = only(objects, "Deployment")["spec"]["template"]["spec"]
    assert pod["volumes"] == extra["extraVolumes"]
    assert exporter_container(objects)["volumeMounts"] == extra["extraVolumeMounts"]


def test_network_policy_is_off_by_default(render):
    for value_set in ("defaults-with-token", "monitoring-on", "demo"):
        objects, _ = render(VALUE_SETS[value_set])
        assert not [o for o in objects if o["kind"] == "NetworkPolicy"], value_set


def test_network_policy_lets_only_the_selected_scrapers_in_and_only_dns_and_https_out(render):
    objects, _ = render(VALUE_SETS["ci/hardened-values.yaml"])
    policy = only(objects, "NetworkPolicy")["spec"]
    deployment = only(objects, "Deployment")
    assert policy["podSelector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    [ingress] = policy["ingress"]
    assert ingress["ports"] == [{"port": "http", "protocol": "TCP"}]
    assert ingress["from"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
        }
    ]
    egress = sorted((p["port"], p["protocol"]) for rule in policy["egress"] for p in rule["ports"])
    assert egress == [(53, "TCP"), (53, "UDP"), (443, "TCP"), (3128, "TCP")]
    assert all("to" not in rule for rule in policy["egress"])


def test_network_policy_without_any_selector_is_refused(helm, chart):
    with pytest.raises(helm.HelmRenderError, match="networkPolicy.metricsNamespaceSelector or metricsPodSelector"):
        chart.render({"demo": True, "networkPolicy": {"enabled": True}}, name="wv", namespace="m")


def test_chart_has_an_icon_that_is_in_the_repository():
    chart_yaml = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart_yaml["icon"].startswith("https://") and chart_yaml["icon"].endswith("/helm/wolkvox-exporter/icon.svg")
    assert (CHART / "icon.svg").read_text().startswith("<svg ")


# --- values.schema.json ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_schema_accepts_each_value_set(chart, value_set):
    chart.validate_schema(VALUE_SETS[value_set])


WRONG_TYPES = {
    "server-as-number": ({"wolkvox": {"server": 32, "token": "t"}}, "/wolkvox/server", "got number, want string"),
    "server-not-digits": ({"wolkvox": {"server": "wv0032", "token": "t"}}, "/wolkvox/server", "does not match pattern"),
    "demo-as-string": ({"demo": "yes"}, "/demo", "got string, want boolean"),
    "port-as-string": ({"demo": True, "service": {"port": "9862"}}, "/service/port", "got string, want integer"),
    "log-format-unknown": ({"demo": True, "log": {"format": "text"}}, "/log/format", "value must be one of"),
    "interval-without-unit": ({"demo": True, "poll": {"interval": "300"}}, "/poll/interval", "does not match pattern"),
    "misspelt-key": ({"demo": True, "serviceMonitor": {"enable": True}}, "/serviceMonitor", "'enable' not allowed"),
    "label-value-as-number": ({"demo": True, "dashboards": {"labelValue": 1}}, "/dashboards/labelValue", "want string"),
    "writable-root": (
        {"demo": True, "securityContext": {"readOnlyRootFilesystem": False}},
        "/securityContext/readOnlyRootFilesystem",
        "value must be true",
    ),
    "tls-without-config": ({"demo": True, "webConfig": {"tls": True}}, "/webConfig/existingSecret", "minLength"),
    "share-above-one": (
        {"demo": True, "prometheusRule": {"config": {"pulseMinShare": 20}}},
        "/prometheusRule/config/pulseMinShare",
        "maximum",
    ),
    "window-without-unit": (
        {"demo": True, "prometheusRule": {"config": {"pulseWindow": "15"}}},
        "/prometheusRule/config/pulseWindow",
        "does not match pattern",
    ),
    "unknown-alert-disabled": (
        {"demo": True, "prometheusRule": {"disabledAlerts": ["WolkvoxPulseSpike"]}},
        "/prometheusRule/disabledAlerts/0",
        "value must be one of",
    ),
    "runbook-pattern-without-placeholder": (
        {"demo": True, "prometheusRule": {"config": {"runbookURLPattern": "https://wiki.example.com/runbook"}}},
        "/prometheusRule/config/runbookURLPattern",
        "does not match pattern",
    ),
    "podmonitor-interval-without-unit": (
        {"demo": True, "podMonitor": {"enabled": True, "interval": "30"}},
        "/podMonitor/interval",
        "does not match pattern",
    ),
    "podmonitor-misspelt-key": ({"demo": True, "podMonitor": {"enable": True}}, "/podMonitor", "'enable' not allowed"),
    "extra-objects-as-a-string": ({"demo": True, "extraObjects": "kind: Secret"}, "/extraObjects", "got string, want array"),
    "extra-object-as-a-string": ({"demo": True, "extraObjects": ["kind: Secret"]}, "/extraObjects/0", "got string, want object"),
    "extra-object-without-kind": (
        {"demo": True, "extraObjects": [{"apiVersion": "v1", "metadata": {"name": "x"}}]},
        "/extraObjects/0",
        "missing property 'kind'",
    ),
    "token-in-env": (
        {"demo": True, "extraEnv": [{"name": "WOLKVOX_TOKEN", "value": "t"}]},
        "/extraEnv/0/name",
        "'not' failed",
    ),
}


@pytest.mark.parametrize("case", WRONG_TYPES)
def test_schema_rejects_a_wrong_value_naming_its_key(helm, chart, case):
    values, path, reason = WRONG_TYPES[case]
    with pytest.raises(helm.HelmValuesError) as raised:
        chart.validate_schema(values)
    assert f"at '{path}'" in str(raised.value) and reason in str(raised.value), str(raised.value)
    # Installing with them fails the same way.
    with pytest.raises(helm.HelmError, match=re.escape(path)):
        chart.render(values, name="wv", namespace=NAMESPACE)


MISSING = {
    "nothing": ({}, ["at '/wolkvox': missing property 'server'", "at '/wolkvox': missing property 'token'"]),
    "no-token": ({"wolkvox": {"server": "0032"}}, ["missing property 'token'", "missing property 'name'"]),
    "no-server": ({"wolkvox": {"token": "t"}}, ["at '/wolkvox': missing property 'server'"]),
    "empty-token": ({"wolkvox": {"server": "0032", "token": ""}}, ["at '/wolkvox/token': minLength"]),
    "operation-without-server": (
        {"operations": [{"name": "bogota", "token": "t"}]},
        ["at '/operations/0': missing property 'server'"],
    ),
    "operation-without-token": (
        {"operations": [{"name": "bogota", "server": "0032"}]},
        ["at '/operations/0': missing property 'token'", "at '/operations/0': missing property 'existingSecret'"],
    ),
}


@pytest.mark.parametrize("case", MISSING)
def test_schema_rejects_missing_required_values_naming_them(helm, chart, case):
    values, expected = MISSING[case]
    with pytest.raises(helm.HelmValuesError) as raised:
        chart.validate_schema(values)
    for text in expected:
        assert text in str(raised.value), str(raised.value)


REFUSED_TOGETHER = {
    "demo-and-operations": (
        {"demo": True, "operations": [{"name": "a", "server": "0032", "token": "t"}]},
        "demo and operations exclude each other",
    ),
    "operations-and-single-server": (
        {"wolkvox": {"server": "0032"}, "operations": [{"name": "a", "server": "0032", "token": "t"}]},
        "with operations, give the server, token, url and name of each operation in its entry",
    ),
    "duplicate-operation-names": (
        {"operations": [{"name": "a", "server": "0032", "token": "t"}, {"name": "a", "server": "0048", "token": "u"}]},
        'the name "a" is used twice',
    ),
}


@pytest.mark.parametrize("case", REFUSED_TOGETHER)
def test_values_that_exclude_each_other_are_refused_with_a_message(helm, chart, case):
    values, message = REFUSED_TOGETHER[case]
    with pytest.raises(helm.HelmRenderError, match=re.escape(message)):
        chart.render(values, name="wv", namespace="m")


def test_token_and_existing_secret_together_are_refused(helm, chart):
    with pytest.raises(helm.HelmRenderError, match="set wolkvox.token or wolkvox.existingSecret.name, not both"):
        chart.render(
            {"wolkvox": {"server": "0032", "token": "t", "existingSecret": {"name": "s"}}}, name="wv", namespace="m"
        )


# --- NOTES.txt and README -----------------------------------------------------------------------------------------


def test_notes_tell_how_to_reach_the_metrics(render):
    _, notes = render(VALUE_SETS["defaults-with-token"])
    assert f"port-forward service/{FULLNAME} 9862:9862" in notes
    assert "curl http://127.0.0.1:9862/metrics" in notes
    assert f"http://{FULLNAME}.{NAMESPACE}.svc:9862/metrics" in notes


def test_notes_list_each_operation_with_its_secret(render):
    _, notes = render(VALUE_SETS["operations"])
    assert f"bogota: server 0032, token from Secret {FULLNAME}, mounted as a file" in notes
    assert "monterrey: server 0048, token from Secret wolkvox-monterrey, mounted as a file" in notes


def schema_paths(schema: dict[str, Any], root: dict[str, Any] | None = None, prefix: str = "") -> set[str]:
    """Every key the schema names, as dotted paths, `[]` for list items (global, Helm's own, excluded)."""
    root = root or schema
    if "$ref" in schema:
        schema = root["$defs"][schema["$ref"].removeprefix("#/$defs/")]
    paths = set()
    for key, sub in schema.get("properties", {}).items():
        if key == "global":
            continue
        path = f"{prefix}{key}"
        paths.add(path)
        paths |= schema_paths(sub, root, f"{path}.")
        if "$ref" in sub.get("items", {}):  # lists of the chart's own entries, not of Kubernetes objects
            paths |= schema_paths(sub["items"], root, f"{path}[].")
    return paths


def value_paths(values: dict[str, Any], prefix: str = "") -> set[str]:
    paths = set()
    for key, value in values.items():
        path = f"{prefix}{key}"
        paths.add(path)
        if isinstance(value, dict) and not key.endswith(("SecurityContext", "securityContext", "resources")):
            paths |= value_paths(value, f"{path}.")
    return paths


def test_chart_readme_lists_every_value(chart):
    readme = (CHART / "README.md").read_text()
    listed = set(re.findall(r"^\| `([^`]+)` +\|", readme, re.MULTILINE))
    expected = value_paths(chart.values) | {
        p for p in schema_paths(chart.schema) if not p.startswith(("podSecurityContext.", "securityContext.", "resources."))
    }
    assert expected - listed == set(), f"values missing from {CHART / 'README.md'}"
    assert listed - expected == set(), "README lists values the chart does not have"


GENERATE_README = ROOT / "scripts" / "generate-chart-readme"
README_GENERATOR = ROOT / "tests" / "deploy" / "readme-generator"


@pytest.fixture(scope="session")
def readme_generator() -> Path:
    if not (README_GENERATOR / "node_modules" / ".bin" / "readme-generator").exists():
        missing(f"{README_GENERATOR / 'node_modules'}")
    return GENERATE_README


def test_chart_readme_parameters_are_generated_from_the_values_comments(readme_generator):
    result = run([str(readme_generator), "--check"])
    assert result.returncode == 0, result.stderr


def test_readme_check_fails_when_a_values_comment_changes(readme_generator, tmp_path):
    # The same layout in a copy, with one description changed in values.yaml and not in the README.
    (tmp_path / "scripts").mkdir()
    shutil.copy2(readme_generator, tmp_path / "scripts")
    (tmp_path / "tests" / "deploy").mkdir(parents=True)
    (tmp_path / "tests" / "deploy" / "readme-generator").symlink_to(README_GENERATOR)
    chart_copy = tmp_path / "helm" / "wolkvox-exporter"
    chart_copy.mkdir(parents=True)
    shutil.copy2(CHART / "README.md", chart_copy)
    values = (CHART / "values.yaml").read_text()
    changed = "## @param podMonitor.scrapeTimeout Scrape timeout."
    assert changed in values
    (chart_copy / "values.yaml").write_text(values.replace(changed, f"{changed} Keep it below the interval."))
    result = run([str(tmp_path / "scripts" / "generate-chart-readme"), "--check"])
    assert result.returncode == 1 and "README.md is stale" in result.stderr, result
    assert "+| `podMonitor.scrapeTimeout`" in result.stderr and "Keep it below the interval." in result.stderr
    assert (chart_copy / "README.md").read_bytes() == (CHART / "README.md").read_bytes()


def test_chart_readme_states_the_kubernetes_and_helm_versions_it_is_tested_with(kubernetes_version):
    from importlib.metadata import version

    readme = (CHART / "README.md").read_text()
    chart_yaml = yaml.safe_load((CHART / "Chart.yaml").read_text())
    supported = re.search(r"^## Supported versions\n(.*?)^## ", readme, re.MULTILINE | re.DOTALL)
    assert supported, "no Supported versions section"
    text = supported[1]
    minimum = chart_yaml["kubeVersion"].removeprefix(">=").removesuffix("-0").rsplit(".", 1)[0]
    tested = ".".join(kubernetes_version.split(".")[:2])
    assert f"Kubernetes {minimum} or later" in text and f"Kubernetes {tested}" in text, text
    import helm_python

    assert f"Helm {helm_python.helm_sdk_version().removeprefix('v')}" in text, text
    assert f"helm-python-sdk {version('helm-python-sdk')}" in text, text
    assert f"kubernetes-validate {version('kubernetes-validate')}" in text, text


# --- Shards -------------------------------------------------------------------------------------------------------


def sharded(n: int) -> dict[str, Any]:
    return {**VALUE_SETS["operations"], "shards": n, "serviceMonitor": {"enabled": True}}


def test_three_shards_render_a_statefulset_whose_pods_take_their_shard_from_their_ordinal(
    render, kubernetes_version
):
    from kubernetes_validate import utils

    objects, _ = render(sharded(3))
    assert not [o for o in objects if o["kind"] == "Deployment"]
    statefulset = only(objects, "StatefulSet")
    spec = statefulset["spec"]
    assert spec["replicas"] == 3
    assert spec["serviceName"] == FULLNAME
    container = exporter_container(objects)
    assert "--shard=$(POD_INDEX)/3" in container["args"]
    assert {"name": "POD_INDEX", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['apps.kubernetes.io/pod-index']"}}} in container["env"]
    # Every pod behind the one Service, scraped through the one ServiceMonitor.
    service = only(objects, "Service")
    pod_labels = spec["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    monitor = only(objects, "ServiceMonitor")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    for obj in (o for o in objects if not o["apiVersion"].startswith("monitoring.coreos.com/")):
        try:
            utils.validate(obj, kubernetes_version, strict=True)
        except utils.ValidationError as e:
            path = ".".join(str(p) for p in e.path)
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {path}: {e.message}", pytrace=False)


def test_one_shard_renders_the_deployment_it_renders_today(render):
    assert render(sharded(1)) == render({**VALUE_SETS["operations"], "serviceMonitor": {"enabled": True}})
    deployment = only(render(sharded(1))[0], "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert not any(a.startswith("--shard") for a in exporter_container(render(sharded(1))[0])["args"])


def test_the_exporter_accepts_each_shards_arguments(render, exporter_binary, tmp_path):
    # What the kubelet runs in pod 0 of 3 ($(POD_INDEX) expanded), down to the file it reads: `check` validates the
    # flags and the file (exit 2 and one line when they are wrong) before it calls anything.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    values = sharded(3)
    values["operations"] = [{**op, "url": closed} for op in values["operations"]]
    objects, _ = render(values)
    config_map = next(o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"].endswith("-operations"))
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "operations.yml").write_text(config_map["data"]["operations.yml"])
    (tmp_path / "tokens").mkdir()
    for i in range(2):
        (tmp_path / "tokens" / str(i)).write_text(f"token-of-operation-{i}\n")
    args = [
        a.replace("$(POD_INDEX)", "0").replace("/etc/wolkvox-exporter/config", str(tmp_path / "config"))
        for a in exporter_container(objects)["args"]
        if a.startswith(("--shard", "--config.file"))
    ]
    assert len(args) == 2, args
    result = run([str(exporter_binary), "check", *args, "--output", "json"], timeout=120)
    # Each operation of this shard is called (at a closed port: exit 1); a refused flag would exit 2.
    assert result.returncode == 1, result.stdout + result.stderr
    owned = [r["operation"] for r in json.loads(result.stdout)]
    assert owned == [n for n in ("bogota", "monterrey") if fnv1a64(n) % 3 == 0]
    # Pod 1 owns neither of the two: it calls nothing and answers for nothing.
    pod1 = [a.replace("--shard=0/", "--shard=1/") for a in args]
    result = run([str(exporter_binary), "check", *pod1, "--output", "json"], timeout=120)
    assert (result.returncode, json.loads(result.stdout)) == (0, []), result.stdout + result.stderr


def fnv1a64(name: str) -> int:
    h = 0xCBF29CE484222325
    for b in name.encode():
        h = ((h ^ b) * 0x100000001B3) % (1 << 64)
    return h


def test_shards_without_operations_are_refused(helm, chart):
    with pytest.raises(helm.HelmRenderError, match="shards above 1 need operations"):
        chart.render({"wolkvox": {"server": "0032", "token": "t"}, "shards": 2}, name="wv", namespace="m")
