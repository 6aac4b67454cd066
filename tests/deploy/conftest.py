"""Shared fixtures of the deployment tests: where things are, the tools, and the chart rendered for a set of values.

The tools come from scripts/setup (.venv, tests/deploy/crd/node_modules) and Debian (promtool, amtool). A missing
tool skips its tests on a developer's machine and fails them in CI (CI set), so that CI never passes by skipping.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "wolkvox-exporter"
RULES = ROOT / "prometheus" / "wolkvox-rules.yml"
GENERATE = ROOT / "scripts" / "generate-mixin"
DASHBOARDS = ROOT / "dashboards"
COMPOSE = ROOT / "compose" / "compose.yaml"
CRD_VALIDATOR = Path(__file__).resolve().parent / "crd"

# The exporter's fixed non-root user: the Dockerfile's USER and the chart's runAsUser.
EXPORTER_UID = 65532
# The job label that the rules and dashboards select the exporter by.
JOB = "wolkvox-exporter"

# A token that cannot occur by chance in a rendered manifest.
TOKEN = "tok-7c1e5b9a-d3f0-4e2a-9b6c-0f8d2a4e6c11"

# The value sets the chart is rendered with. Each is the override a user would write; the chart's defaults fill the rest.
VALUE_SETS: dict[str, dict[str, Any]] = {
    "defaults-with-token": {"wolkvox": {"server": "0032", "token": TOKEN}},
    "existing-secret": {
        "wolkvox": {"server": "0048", "existingSecret": {"name": "wolkvox-token", "key": "api-token"}},
    },
    "monitoring-on": {
        "wolkvox": {"server": "0032", "token": TOKEN, "operation": "bogota"},
        "serviceMonitor": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}},
        "prometheusRule": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}},
        "dashboards": {
            "enabled": True,
            "labelName": "example.com/dashboard",
            "labelValue": "wolkvox",
            "folder": "Contact centre",
            "folderAnnotation": "k8s-sidecar-target-directory",
        },
    },
    "optional-parts-off": {
        "wolkvox": {"server": "0032", "existingSecret": {"name": "wolkvox-token"}},
        "serviceAccount": {"create": False},
        "serviceMonitor": {"enabled": False},
        "prometheusRule": {"enabled": False},
        "dashboards": {"enabled": False},
    },
    "demo": {"demo": True},
    # Names of the demo's routing points and options, mounted as --names.file.
    "names": {
        "demo": True,
        "names": {
            "demo": {
                "routing_points": {
                    "1001": {
                        "name": "Main menu",
                        "options": {"1": {"name": "Billing", "category": "self_service"}, "PULSE": {"name": "No key pressed"}},
                    }
                }
            }
        },
    },
    "operations": {
        "operations": [
            {"name": "bogota", "server": "0032", "token": TOKEN},
            {
                "name": "monterrey",
                "server": "0048",
                "existingSecret": {"name": "wolkvox-monterrey", "key": "api-token"},
                "timezone": "America/Monterrey",
                "pollInterval": "10m",
                "url": "https://wolkvox-proxy.example.internal",
            },
        ],
    },
    # The mixin's parameters, a job label of its own, extra labels and annotations, one alert left out.
    "rules-tuned": {
        "wolkvox": {"server": "0032", "existingSecret": {"name": "wolkvox-token"}},
        "serviceMonitor": {"enabled": True, "jobLabel": "ivr-exporter"},
        "prometheusRule": {
            "enabled": True,
            "config": {
                "pulseWindow": "30m",
                "pulseBaseline": "6h",
                "pulseRatio": 4,
                "pulseMinShare": 0.35,
                "pulseMinCalls": 100,
                "pulseSeverity": "warning",
                "staleAfterSeconds": 3600,
                "configReloadFailedFor": "15m",
                "runbookURLPattern": "https://wiki.example.com/runbooks/wolkvox#%s",
            },
            "additionalRuleLabels": {"team": "contact-centre"},
            "additionalRuleAnnotations": {"dashboard": "https://grafana.example.com/d/wolkvox-ivr"},
            "disabledAlerts": ["WolkvoxTokenBudgetLow"],
        },
        "dashboards": {"enabled": True},
    },
    "web-config-tls": {
        "wolkvox": {"server": "0032", "existingSecret": {"name": "wolkvox-token"}},
        "webConfig": {"existingSecret": "wolkvox-web", "tls": True},
        "serviceMonitor": {
            "enabled": True,
            "tlsConfig": {"insecureSkipVerify": True},
            "basicAuth": {
                "username": {"name": "wolkvox-scrape", "key": "username"},
                "password": {"name": "wolkvox-scrape", "key": "password"},
            },
        },
    },
}

# The chart's own ci/*-values.yaml (chart-testing's convention) go through every check that the value sets above do.
VALUE_SETS.update({f"ci/{p.name}": yaml.safe_load(p.read_text()) for p in sorted((CHART / "ci").glob("*-values.yaml"))})

RELEASE = "wv"
NAMESPACE = "monitoring"
FULLNAME = f"{RELEASE}-wolkvox-exporter"


def missing(what: str) -> None:
    """Skips the test on a developer's machine, fails it in CI: CI must run every check."""
    message = f"{what} is missing: run scripts/setup"
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def tool(name: str) -> str:
    """Path of a command: in the venv that runs the tests first, then on PATH."""
    in_venv = Path(sys.prefix) / "bin" / name
    if in_venv.is_file() and os.access(in_venv, os.X_OK):
        return str(in_venv)
    found = shutil.which(name)
    if found is None:
        missing(f"the command {name}")
    return found  # type: ignore[return-value]


def run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Runs a command and returns its outcome with text output; never raises on a non-zero exit."""
    return subprocess.run(args, capture_output=True, text=True, check=False, **kwargs)


@pytest.fixture(scope="session")
def helm():
    """The helm_python module (Helm's Go SDK), quiet."""
    try:
        import helm_python
    except ImportError:
        missing("the Python package helm-python-sdk")
    helm_python.disable_logging()
    return helm_python


@pytest.fixture(scope="session")
def chart(helm):
    with helm.Chart.load(CHART) as loaded:
        yield loaded


@pytest.fixture(scope="session")
def render(chart):
    """render(values) -> (objects, notes): the chart's manifests parsed, and NOTES.txt."""

    def render_values(values: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
        rendered = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
        objects: list[dict[str, Any]] = []
        notes = ""
        for path, text in sorted(rendered.items()):
            if path.endswith("NOTES.txt"):
                notes = text
                continue
            objects.extend(doc for doc in yaml.safe_load_all(text) if doc)
        return objects, notes

    return render_values


def only(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    """The one object of a kind; fails if there are none or several."""
    found = [o for o in objects if o["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def exporter_container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    """The exporter's container, in the Deployment (or, with shards, the StatefulSet): there is one of them."""
    workloads = [o for o in objects if o["kind"] in ("Deployment", "StatefulSet")]
    assert len(workloads) == 1, f"expected one workload, found {[o['kind'] for o in workloads]}"
    containers = workloads[0]["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["exporter"]
    return containers[0]


DOCKERFILE = ROOT / "Dockerfile"


def dockerfile_instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (KEYWORD, arguments), continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def dockerfile_build_commands() -> list[str]:
    return [args for keyword, args in dockerfile_instructions() if keyword == "RUN" and "cargo" in args]


def dockerfile_copied_paths() -> list[str]:
    """What the build stage copies from the build context, each to the same path under its WORKDIR."""
    paths = []
    for keyword, args in dockerfile_instructions():
        if keyword == "COPY" and not args.startswith("--from"):
            *sources, destination = args.split()
            for source in sources:
                assert destination in ("./", f"./{source}"), f"COPY {args}: not the repository's layout"
                paths.append(source)
    return paths


# The Dockerfile's build stage runs on Alpine, whose Rust builds for this target by default: a static binary.
STATIC_TARGET = "x86_64-unknown-linux-musl"


@pytest.fixture(scope="session")
def exporter_binary(tmp_path_factory) -> Path:
    """The exporter built by the Dockerfile's own build command, in a copy of the Dockerfile's build context.

    The command is taken from the Dockerfile, with `--target x86_64-unknown-linux-musl` added: Alpine's Rust builds for
    musl by default, this machine's for glibc, so the target is what makes it the image's static binary (same profile,
    same lock file, same sources; scripts/setup installs the target and musl-gcc). Built once per test run, the
    slowest step of tests/deploy: the image test and the chart tests run this one binary.
    """
    commands = dockerfile_build_commands()
    assert len(commands) == 1, commands
    context = tmp_path_factory.mktemp("build-context") / "src"
    context.mkdir()
    for source in dockerfile_copied_paths():
        if (ROOT / source).is_dir():
            shutil.copytree(ROOT / source, context / source)
        else:
            shutil.copy2(ROOT / source, context / source)
    # A target directory of its own: the build reuses compiled dependencies between runs, and never waits for (or
    # disturbs) another cargo command working in target/.
    target = ROOT / "target" / "dockerfile-build"
    cargo = [*shlex.split(commands[0]), "--target", STATIC_TARGET]
    result = run(cargo, cwd=context, env={**os.environ, "CARGO_TARGET_DIR": str(target)}, timeout=1500)
    assert result.returncode == 0, result.stderr[-4000:]
    return target / STATIC_TARGET / "release" / "wolkvox-exporter"


@pytest.fixture(scope="session")
def crd_validate():
    """crd_validate(objects) -> (exit code, results): the Prometheus Operator CRD validator (Node.js)."""
    node = tool("node")
    if not (CRD_VALIDATOR / "node_modules" / "@kubernetes-models" / "prometheus-operator").is_dir():
        missing(f"{CRD_VALIDATOR / 'node_modules'}")

    def validate(objects: list[dict[str, Any]]) -> tuple[int, list[dict[str, Any]]]:
        result = run([node, "validate.mjs"], input=json.dumps(objects), cwd=CRD_VALIDATOR)
        assert not result.stderr.strip(), result.stderr
        return result.returncode, [json.loads(line) for line in result.stdout.splitlines()]

    return validate
