"""CHANGELOG.md: Keep a Changelog's layout, a section for the version that Cargo.toml and the chart carry (the release
workflow publishes it as the release's notes), and one version in Cargo.toml and Chart.yaml (docs/releasing.md)."""

from __future__ import annotations

import re

import yaml
from conftest import CHART, ROOT

CHANGELOG = ROOT / "CHANGELOG.md"
# Keep a Changelog 1.1.0's kinds of change, in its order.
KINDS = ["Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"]


def crate_version() -> str:
    found = re.search(r'^version = "([^"]+)"$', (ROOT / "Cargo.toml").read_text(), re.MULTILINE)
    assert found, "no version in Cargo.toml"
    return found[1]


def sections() -> list[str]:
    return re.findall(r"^## (.+)$", CHANGELOG.read_text(), re.MULTILINE)


def test_changelog_has_a_dated_entry_for_the_crate_version_below_unreleased():
    headings = sections()
    assert headings[0] == "[Unreleased]", headings
    released = headings[1:]
    assert all(re.fullmatch(r"\[\d+\.\d+\.\d+\] - \d{4}-\d{2}-\d{2}", h) for h in released), released
    assert released and released[0].startswith(f"[{crate_version()}] - "), (crate_version(), released)


def test_changelog_groups_changes_under_keep_a_changelog_kinds_in_their_order():
    text = CHANGELOG.read_text()
    for section in re.split(r"^## ", text, flags=re.MULTILINE)[1:]:
        kinds = re.findall(r"^### (.+)$", section, re.MULTILINE)
        assert kinds, f"no changes under ## {section.splitlines()[0]}"
        assert set(kinds) <= set(KINDS) and kinds == sorted(kinds, key=KINDS.index), (section.splitlines()[0], kinds)


def test_chart_version_and_app_version_are_the_crate_version():
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert (chart["version"], chart["appVersion"]) == (crate_version(), crate_version())
