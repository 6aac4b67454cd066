"""The Dockerfile, checked with hadolint, and its build step run on this machine: no Docker engine runs here or in CI,
so the image itself is not built, and the build command the Dockerfile runs is the one these tests run."""

from __future__ import annotations

from conftest import DOCKERFILE, EXPORTER_UID, ROOT, dockerfile_copied_paths, run, tool
from conftest import dockerfile_build_commands as build_commands
from conftest import dockerfile_instructions as instructions

BUILD_COMMAND = "cargo build --release --locked"
# The image is this binary on distroless/static (about 2 MB): the README states the image's size from this bound.
BINARY_SIZE_LIMIT = 10 * 1024 * 1024


def test_hadolint_finds_nothing_in_the_dockerfile():
    result = run([tool("hadolint"), "--failure-threshold", "style", "--no-color", str(DOCKERFILE)])
    assert result.returncode == 0 and result.stdout.strip() == "", result.stdout + result.stderr


def test_hadolint_would_report_a_bad_dockerfile(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM debian:latest\nRUN apt-get install curl\n")
    result = run([tool("hadolint"), "--no-color", str(bad)])
    assert result.returncode != 0 and "DL3007" in result.stdout, result.stdout


def test_dockerfile_builds_with_the_command_these_tests_run():
    assert build_commands() == [BUILD_COMMAND]
    # The Dockerfile says so next to the command, so that nobody changes one without the other.
    assert "tests/deploy/test_dockerfile.py" in DOCKERFILE.read_text()


def test_dockerfile_build_command_builds_a_small_release_binary_from_the_build_context(exporter_binary):
    # exporter_binary (conftest.py) runs the very command the Dockerfile runs, taken from it, in a copy of what the
    # Dockerfile copies into the build context (.dockerignore lets in only these, see the test below).
    assert exporter_binary.stat().st_size <= BINARY_SIZE_LIMIT, f"{exporter_binary.stat().st_size} bytes"
    help_text = run([str(exporter_binary), "--help"])
    assert help_text.returncode == 0 and "--wolkvox.token-file" in help_text.stdout


def test_runtime_stage_is_distroless_static_as_the_non_root_user_with_port_and_entrypoint():
    steps = instructions()
    stages = [args for keyword, args in steps if keyword == "FROM"]
    assert len(stages) == 2 and stages[0].endswith(" AS build")
    assert stages[1].startswith("gcr.io/distroless/static-")
    runtime = steps[[i for i, (keyword, _) in enumerate(steps) if keyword == "FROM"][1] :]
    assert ("USER", f"{EXPORTER_UID}:{EXPORTER_UID}") in runtime
    assert ("EXPOSE", "9862") in runtime
    assert ("ENTRYPOINT", '["/usr/local/bin/wolkvox-exporter"]') in runtime
    assert ("COPY", "--from=build /src/target/release/wolkvox-exporter /usr/local/bin/wolkvox-exporter") in runtime


def test_build_context_holds_only_what_the_build_stage_copies():
    # .dockerignore lets in nothing but what the Dockerfile copies (exporter_binary builds from those alone).
    ignore = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")]
    assert ignore[0] == "*"
    assert sorted(line.removeprefix("!").rstrip("/") for line in ignore[1:]) == sorted(dockerfile_copied_paths())
    assert {"Cargo.toml", "Cargo.lock", "src"} <= set(dockerfile_copied_paths())
