"""The monitoring mixin (mixin/) as a user imports it into a Jsonnet file of their own, rendered with Debian's jsonnet."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import ROOT, run, tool

PARTS = ["prometheusRules", "prometheusAlerts", "grafanaDashboards"]


def render(tmp_path: Path, part: str, config: str) -> tuple[int, str, str]:
    """Renders one part of the mixin from a file that imports it and overrides its _config, as the README shows."""
    source = tmp_path / "my-mixin.jsonnet"
    source.write_text(f"local mixin = (import 'mixin/mixin.libsonnet') + {{ _config+:: {config} }};\nmixin.{part}\n")
    result = run([tool("jsonnet"), "-J", str(ROOT), str(source)], cwd=tmp_path)
    return result.returncode, result.stdout, result.stderr


@pytest.mark.parametrize("part", PARTS)
def test_a_misspelt_parameter_stops_the_render_naming_it_and_the_right_name_renders(tmp_path, part):
    code, out, err = render(tmp_path, part, "{ pulseWindw: '30m' }")
    assert code != 0, out[:200]
    assert "unknown parameter: pulseWindw" in err, err
    assert out == ""

    code, out, err = render(tmp_path, part, "{ pulseWindow: '30m' }")
    assert code == 0, err
    rendered = json.loads(out)
    if part == "grafanaDashboards":
        assert "wolkvox_rp:ivr_pulse_share:ratio30m" in json.dumps(rendered["wolkvox-ivr.json"])
    else:
        assert "30m" in json.dumps(rendered["groups"])


def test_every_unknown_parameter_is_named(tmp_path):
    code, _, err = render(tmp_path, "prometheusAlerts", "{ pulseWindw: '30m', outageRaito: 0.1 }")
    assert code != 0
    assert "unknown parameters: outageRaito, pulseWindw" in err, err


def test_the_rules_entry_point_refuses_a_misspelt_parameter_too():
    """mixin/rules.jsonnet, which README's "Changing thresholds" runs with --tla-code."""
    result = run(
        [tool("jsonnet"), "-S", "--tla-code", "config={pulseWindw: '30m'}", "mixin/rules.jsonnet"],
        cwd=ROOT,
    )
    assert result.returncode != 0
    assert "unknown parameter: pulseWindw" in result.stderr, result.stderr
