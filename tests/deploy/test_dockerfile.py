"""The Dockerfile, checked with hadolint, and its build step run on this machine: no Docker engine runs here or in CI,
so the image itself is not built, and the build command the Dockerfile runs is the one these tests run."""

from __future__ import annotations

import os
import re
import queue
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import DOCKERFILE, EXPORTER_UID, ROOT, dockerfile_copied_paths, missing, run, tool
from conftest import dockerfile_build_commands as build_commands
from conftest import dockerfile_instructions as instructions

BUILD_COMMAND = "cargo build --release --locked"
# The image is this binary on distroless/static (about 2 MB): the README states the image's size from this bound.
BINARY_SIZE_LIMIT = 10 * 1024 * 1024
# Seconds any awaited event (a log line, readiness, an answer) may take before the test fails.
EVENT_TIMEOUT = 30


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
    # The build context has no .git, as in a Docker build: build.rs still runs and says so.
    version = run([str(exporter_binary), "--version"])
    assert version.returncode == 0 and "(revision unknown, built " in version.stdout, version.stdout


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


# distroless/static's CA bundle lives here; the exporter's TLS roots are read from it (rustls-native-certs' path).
CA_BUNDLE = "etc/ssl/certs/ca-certificates.crt"
BINARY_IN_IMAGE = "usr/local/bin/wolkvox-exporter"


def image_root(directory: Path, binary: Path) -> Path:
    """A root file system holding what the image holds that the exporter can use: the binary and a CA bundle."""
    (directory / BINARY_IN_IMAGE).parent.mkdir(parents=True)
    shutil.copy2(binary, directory / BINARY_IN_IMAGE)
    (directory / CA_BUNDLE).parent.mkdir(parents=True)
    shutil.copy2(Path("/") / CA_BUNDLE, directory / CA_BUNDLE)
    return directory


def start_in_root(root: Path, *args: str) -> subprocess.Popen[str]:
    """Starts the image's entrypoint inside `root`, as the image's user: chroot needs root (CI runs as root)."""
    if os.geteuid() != 0:
        missing("root (to chroot into the image's file system)")
    return subprocess.Popen(
        [
            shutil.which("chroot") or "chroot",
            f"--userspec={EXPORTER_UID}:{EXPORTER_UID}",
            str(root),
            f"/{BINARY_IN_IMAGE}",
            *args,
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


class StderrLines:
    """The stderr lines of a process, read by a thread as they come, so that a test can await one with a timeout."""

    def __init__(self, process: subprocess.Popen[str]):
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, args=(process.stderr,), daemon=True).start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, needle: str) -> str:
        """The first line, seen already or still to come, that holds `needle`; fails if the process ends, or is silent
        for too long, without one. Lines seen already count: the first poll may be logged before "listening"."""
        for line in self.seen:
            if needle in line:
                return line
        while True:
            try:
                line = self.lines.get(timeout=EVENT_TIMEOUT)
            except queue.Empty:
                line = None
            if line is None:
                pytest.fail(f"no stderr line with {needle!r}; saw:\n{''.join(self.seen)}", pytrace=False)
            self.seen.append(line)
            if needle in line:
                return line


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=EVENT_TIMEOUT) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""


def test_static_binary_serves_demo_metrics_in_a_root_holding_only_itself_and_ca_certificates(exporter_binary, tmp_path):
    # What distroless/static gives the binary, and nothing else: no libc, no loader, no shell, no tzdata. A dynamically
    # linked binary could not even start here.
    root = image_root(tmp_path / "root", exporter_binary)
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) == sorted([BINARY_IN_IMAGE, CA_BUNDLE])
    process = start_in_root(root, "--demo", "--web.listen-address", "127.0.0.1:0")
    stderr = StderrLines(process)
    try:
        address = re.search(r"address=(\S+)", stderr.wait_for("listening")).group(1)
        # The demo's first poll logs this once it is recorded; /readyz turns 200 when its snapshot is published.
        stderr.wait_for("polls succeed")
        deadline = time.monotonic() + EVENT_TIMEOUT
        while get(f"http://{address}/readyz")[0] != 200:
            assert time.monotonic() < deadline, "not ready:\n" + "".join(stderr.seen)
            time.sleep(0.02)
        status, body = get(f"http://{address}/metrics")
        assert status == 200
        up = re.findall(r'^wolkvox_up\{operation="demo"\} (\S+)$', body, re.MULTILINE)
        assert [float(v) for v in up] == [1.0], body
    finally:
        process.terminate()
        process.wait(timeout=EVENT_TIMEOUT)
