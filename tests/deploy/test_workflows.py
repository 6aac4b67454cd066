"""The release pipeline in .github/workflows: actionlint finds nothing in it, and it does what the README promises
(CI runs scripts/test; a version tag pushes both images, the chart and the binaries). It cannot run here: these
checks are what shows it is well formed before a tag is pushed."""

from __future__ import annotations

import re
from typing import Any

import yaml
from conftest import CHART, ROOT, run, tool

WORKFLOWS = ROOT / ".github" / "workflows"


def load(name: str) -> dict[Any, Any]:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def steps(workflow: dict[Any, Any], job: str) -> list[dict[str, Any]]:
    return workflow["jobs"][job]["steps"]


def uses(workflow: dict[Any, Any], job: str, action: str) -> dict[str, Any]:
    """The one step of `job` that uses `action` (any version)."""
    found = [s for s in steps(workflow, job) if s.get("uses", "").split("@")[0] == action]
    assert len(found) == 1, f"{job}: expected one step using {action}, found {len(found)}"
    return found[0]


def scripts(workflow: dict[Any, Any], job: str) -> str:
    return "\n".join(s.get("run", "") for s in steps(workflow, job))


def test_actionlint_finds_nothing_in_the_workflows():
    files = sorted(str(p) for p in WORKFLOWS.glob("*.yml"))
    assert [p.rsplit("/", 1)[1] for p in files] == ["ci.yml", "release.yml"]
    result = run([tool("actionlint"), "-no-color", *files])
    assert result.returncode == 0 and result.stdout.strip() == "", result.stdout + result.stderr


def test_actionlint_would_report_a_bad_workflow(tmp_path):
    # An undefined input of build-push-action and an expression on an unknown context: both mistakes actionlint knows.
    bad = (WORKFLOWS / "release.yml").read_text()
    bad = bad.replace("platforms: linux/amd64", "platform: linux/amd64").replace("needs.version.outputs.owner", "need.version.owner", 1)
    path = tmp_path / "release.yml"
    path.write_text(bad)
    result = run([tool("actionlint"), "-no-color", str(path)])
    assert result.returncode != 0, result.stdout
    assert 'input "platform" is not defined' in result.stdout and '"need"' in result.stdout, result.stdout


def test_ci_runs_the_readme_test_command_on_every_push_and_pull_request():
    ci = load("ci.yml")
    assert {"push", "pull_request"} <= set(ci[True])  # YAML 1.1 reads the key `on` as true
    assert [s["run"] for s in steps(ci, "test") if s.get("run") == "scripts/test"] == ["scripts/test"]
    assert "scripts/test" in (ROOT / "README.md").read_text()


def test_release_runs_on_version_tags_only():
    release = load("release.yml")
    assert release[True] == {"push": {"tags": ["v*.*.*"]}}


def test_release_pushes_images_for_amd64_and_arm64_to_the_github_container_registry():
    release = load("release.yml")
    assert release["env"]["REGISTRY"] == "ghcr.io"
    build = uses(release, "image", "docker/build-push-action")["with"]
    assert build["platforms"] == "linux/amd64,linux/arm64" and build["push"] is True and build["context"] == "."
    # arm64 is built under emulation, with buildx; the registry takes the job's token.
    uses(release, "image", "docker/setup-qemu-action")
    uses(release, "image", "docker/setup-buildx-action")
    assert uses(release, "image", "docker/login-action")["with"]["registry"] == "${{ env.REGISTRY }}"
    assert release["jobs"]["image"]["permissions"]["packages"] == "write"


def test_release_pushes_the_chart_as_an_oci_artifact_that_pulls_the_released_image():
    release = load("release.yml")
    chart_job = scripts(release, "chart")
    assert 'helm push "dist/wolkvox-exporter-$VERSION.tgz" "oci://$REGISTRY/$OWNER/charts"' in chart_job
    assert '--version "$VERSION" --app-version "$VERSION"' in chart_job
    # The job rewrites the default image repository; the line it rewrites must be in values.yaml, once.
    values = (CHART / "values.yaml").read_text().splitlines()
    assert values.count("  repository: wolkvox-exporter") == 1
    assert "s|^  repository: wolkvox-exporter\\$|  repository: $REGISTRY/$OWNER/wolkvox-exporter|" in chart_job


def test_release_attaches_the_binaries_of_both_images_to_the_release():
    release = load("release.yml")
    binaries = scripts(release, "binaries")
    assert "for arch in amd64 arm64" in binaries
    assert "docker cp \"$container:/usr/local/bin/wolkvox-exporter\"" in binaries
    assert 'gh release create "$GITHUB_REF_NAME" dist/*' in binaries
    assert release["jobs"]["binaries"]["needs"] == ["version", "image"]
    assert release["jobs"]["binaries"]["permissions"]["contents"] == "write"
    # The path the binaries are copied from is where the Dockerfile puts the binary.
    assert "/usr/local/bin/wolkvox-exporter" in (ROOT / "Dockerfile").read_text()


def test_release_refuses_a_tag_that_is_not_the_crate_and_chart_version():
    check = scripts(load("release.yml"), "version")
    assert 'version="${GITHUB_REF_NAME#v}"' in check and "exit 1" in check
    assert "appVersion" in check and "Cargo.toml" in check


RELEASE_NOTES = ROOT / "scripts" / "release-notes"

TWO_VERSIONS = """# Changelog

Text above the versions.

## [Unreleased]

### Added

- Something new.

## [1.10.0] - 2027-01-02

### Fixed

- The newer fix.

## [1.1.0] - 2026-12-01

### Added

- The older feature.

[1.10.0]: https://git.example.com/compare/v1.1.0...v1.10.0
"""


def test_release_notes_are_the_changelog_section_of_the_version_without_its_heading(tmp_path):
    changelog = tmp_path / "CHANGELOG.md"
    changelog.write_text(TWO_VERSIONS)
    newer = run([str(RELEASE_NOTES), "1.10.0", str(changelog)])
    older = run([str(RELEASE_NOTES), "1.1.0", str(changelog)])
    assert (newer.returncode, newer.stdout) == (0, "### Fixed\n\n- The newer fix.\n"), newer
    # "1.1.0" is not taken for the start of "1.10.0", and the link definitions after the last section are left out.
    assert (older.returncode, older.stdout) == (0, "### Added\n\n- The older feature.\n"), older


def test_release_notes_refuse_a_version_without_a_section(tmp_path):
    changelog = tmp_path / "CHANGELOG.md"
    changelog.write_text(TWO_VERSIONS)
    result = run([str(RELEASE_NOTES), "1.2.0", str(changelog)])
    assert result.returncode == 1 and result.stdout == "", result
    assert "no section for 1.2.0" in result.stderr


def test_release_notes_of_the_crate_version_come_from_the_repository_changelog():
    version = re.search(r'^version = "([^"]+)"$', (ROOT / "Cargo.toml").read_text(), re.MULTILINE)[1]
    result = run([str(RELEASE_NOTES), version])
    assert result.returncode == 0 and "\n### " in f"\n{result.stdout}", result


def test_release_publishes_the_changelog_section_of_the_tag_as_its_notes():
    release = load("release.yml")
    # Checked before any image is pushed, then given to the release instead of GitHub's list of commits.
    assert 'scripts/release-notes "$version" > /dev/null' in scripts(release, "version")
    binaries = scripts(release, "binaries")
    assert 'scripts/release-notes "$VERSION" > "$RUNNER_TEMP/notes.md"' in binaries
    assert '--notes-file "$RUNNER_TEMP/notes.md"' in binaries and "--generate-notes" not in binaries
    uses(release, "binaries", "actions/checkout")
