"""No answer size kills the exporter under the chart's memory limit.

The exporter reads Wolkvox's answer whole into memory, up to --wolkvox.max-body-size. These tests render the chart,
take the memory limit and the arguments of the rendered Deployment, and start the image's own binary (the static musl
build, `exporter_binary`) under that limit, polling a server on loopback that answers a body exactly at the cap (twice,
so that the second is built while the first report is still served, the peak of BENCHMARKS.md) and then one byte above
it. The bodies are report_bodies.py's 60,000 records, lengthened to the size, with no Content-Length (read chunk by
chunk as a streamed answer is, the buffer growing as it goes). The exporter must count the first two as `success` and
the third as `decode_error`, keep serving /metrics, and never be killed.

How the limit is applied, in this order, the first that this machine allows:

1. A memory cgroup, as the kubelet applies `resources.limits.memory`: a child of the cgroup the tests run in (so it
   stays inside whatever limit the tests already have), with `memory.max` (cgroup v2) or `memory.limit_in_bytes`
   (cgroup v1) set to the limit and swap set to none where the kernel offers it, so that going over is an OOM kill as
   in a pod, not swapping. Needs root and a writable cgroup file system: the machines these tests were written on
   (Debian 12, as root, as CI runs) mount cgroup v1's memory controller read-write, and there it is used. The cgroup's
   OOM kill counter must stay at 0.
2. Otherwise (no root, /sys/fs/cgroup read-only as in an unprivileged container, or a cgroup v2 parent that holds
   processes and so cannot delegate its memory controller) RLIMIT_AS (`ulimit -v`) at the same number of bytes, rather
   than a skip: the test runs everywhere. It limits virtual memory, not resident memory, so it is stricter than the
   pod's limit: for this binary (musl, whose malloc keeps no per-thread arenas) the virtual peak was 10 MiB above the
   resident peak (150 against 140 MiB at the cap with 60,000 series; BENCHMARKS.md). A failed allocation aborts the
   process, which the test sees as a dead process. With glibc's per-thread arenas (64 MiB of address space each) the
   same number would be far too strict, which is why the static binary is the one tested.

The test can fail: with the earlier 300 MB default, the body at the cap is 300 MB and the process is killed under the
chart's limit; with a limit below the measured peak, the second body at the cap gets it killed.
"""

from __future__ import annotations

import http.server
import os
import re
import signal
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import report_bodies
from conftest import TOKEN, exporter_container, run

# Seconds any awaited event (the listening line, a poll counted in /metrics) may take before the test fails.
EVENT_TIMEOUT = 60

# The Secret's mount and the port the chart gives the container, replaced by a file and a free loopback port here.
TOKEN_FILE_ARG = "--wolkvox.token-file=/etc/wolkvox-exporter/secret/token"
LISTEN_ARG = "--web.listen-address=:9862"

SIZE_UNITS = {"": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30}
QUANTITY_UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}


def byte_size(text: str) -> int:
    """A --wolkvox.max-body-size value in bytes (the exporter's units: KB, MB, GB are powers of 1000)."""
    number, unit = re.fullmatch(r"(\d+)\s*([A-Za-z]*)", text.strip()).groups()
    return int(number) * SIZE_UNITS[unit.upper()]


def quantity(text: str) -> int:
    """A Kubernetes memory quantity (such as 192Mi) in bytes."""
    number, unit = re.fullmatch(r"(\d+)([A-Za-z]*)", str(text)).groups()
    return int(number) * QUANTITY_UNITS[unit]


def default_body_cap(binary: Path) -> int:
    """The cap the exporter applies when the chart does not set one: its --help default."""
    help_text = run([str(binary), "--help"]).stdout
    match = re.search(r"--wolkvox\.max-body-size <SIZE>.*?\[default: ([^\]]+)\]", help_text, re.DOTALL)
    assert match, help_text
    return byte_size(match.group(1))


class Upstream:
    """A Wolkvox stand-in on a loopback port: the n-th report call gets bodies[n] (the last one once they run out),
    without a Content-Length, the connection closed after it."""

    def __init__(self, bodies: list[bytes]):
        self.bodies = bodies
        self.calls = 0
        upstream = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_GET(self):
                if "api=diagram_1_3" not in self.path:
                    self.send_response(404)
                    self.end_headers()
                    return
                body = upstream.bodies[min(upstream.calls, len(upstream.bodies) - 1)]
                upstream.calls += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the exporter stops reading at its cap: the body above it is cut off

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class MemoryLimit:
    """The limit applied to one process: a memory cgroup where this machine allows one, else RLIMIT_AS (module doc)."""

    def __init__(self, limit: int, name: str):
        self.limit = limit
        self.cgroup: Path | None = None
        self.version = 0
        try:
            self._make_cgroup(name)
        except OSError:
            self._remove_cgroup()
        self.mechanism = f"cgroup v{self.version} {self.cgroup}" if self.cgroup else "RLIMIT_AS (ulimit -v)"

    def _make_cgroup(self, name: str) -> None:
        own = {}
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            own[controllers] = path
        unified = Path("/sys/fs/cgroup")
        if (unified / "cgroup.controllers").is_file() and "" in own:
            parent = unified / own[""].lstrip("/")
            if "memory" not in (parent / "cgroup.subtree_control").read_text().split():
                # Refused (EBUSY) when the parent holds processes itself, as a container's root cgroup does.
                (parent / "cgroup.subtree_control").write_text("+memory")
            self.cgroup, self.version = parent / name, 2
            self.cgroup.mkdir()
            (self.cgroup / "memory.max").write_text(str(self.limit))
            if (self.cgroup / "memory.swap.max").exists():
                (self.cgroup / "memory.swap.max").write_text("0")
            return
        memory = next((path for controllers, path in own.items() if "memory" in controllers.split(",")), None)
        if memory is None or not (unified / "memory" / "memory.limit_in_bytes").is_file():
            raise OSError("no memory cgroup")
        self.cgroup, self.version = unified / "memory" / memory.lstrip("/") / name, 1
        self.cgroup.mkdir()
        (self.cgroup / "memory.limit_in_bytes").write_text(str(self.limit))
        if (self.cgroup / "memory.memsw.limit_in_bytes").exists():
            # Memory and swap together at the same limit: no swap.
            (self.cgroup / "memory.memsw.limit_in_bytes").write_text(str(self.limit))

    def command(self, args: list[str]) -> list[str]:
        """`args` run under the limit: a shell enters the cgroup (or sets the rlimit), then becomes the program."""
        if self.cgroup:
            enter = f'echo $$ > "{self.cgroup}/cgroup.procs"'
        else:
            enter = f"ulimit -v {self.limit // 1024}"
        return ["/bin/sh", "-c", f'{enter} && exec "$@"', "sh", *args]

    def oom_kills(self) -> int | None:
        """OOM kills in the cgroup so far; None without one."""
        if not self.cgroup:
            return None
        events = self.cgroup / ("memory.events" if self.version == 2 else "memory.oom_control")
        found = re.search(r"^oom_kill (\d+)$", events.read_text(), re.MULTILINE)
        return int(found.group(1)) if found else None

    def peak(self) -> int | None:
        """The cgroup's highest memory use so far, where the kernel records it."""
        path = self.cgroup and self.cgroup / ("memory.peak" if self.version == 2 else "memory.max_usage_in_bytes")
        return int(path.read_text()) if path and path.exists() else None

    def _remove_cgroup(self) -> None:
        if self.cgroup and self.cgroup.is_dir():
            for _ in range(100):  # the killed process's last pages take a moment to leave it
                try:
                    self.cgroup.rmdir()
                    break
                except OSError:
                    time.sleep(0.05)
        self.cgroup = None

    def close(self) -> None:
        self._remove_cgroup()


def polls(metrics: str) -> dict[str, float]:
    """wolkvox_polls_total by result."""
    return {
        m.group(1): float(m.group(2))
        for m in re.finditer(r'^wolkvox_polls_total\{[^}]*result="([a-z_]+)"[^}]*\} (\S+)$', metrics, re.MULTILINE)
    }


def scrape(address: str) -> str:
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=EVENT_TIMEOUT) as response:
        return response.read().decode()


@pytest.mark.parametrize(
    "extra_args",
    [[], ["--report.max-series=60000"]],
    ids=["chart-defaults", "every-record-a-series"],
)
def test_exporter_under_the_chart_memory_limit_counts_bodies_at_and_above_the_cap_and_lives(
    render, exporter_binary, tmp_path, extra_args
):
    cap = default_body_cap(exporter_binary)
    at_cap = report_bodies.of_size(cap)
    # One byte more, still a whole valid answer: only the cap can turn it into a decode_error.
    above_cap = report_bodies.of_size(cap + 1)
    upstream = Upstream([at_cap, at_cap, above_cap])

    objects, _ = render(
        {
            "wolkvox": {"server": "0032", "token": TOKEN, "url": upstream.url},
            "poll": {"interval": "1s", "timeout": "60s"},
            "extraArgs": extra_args,
        }
    )
    container = exporter_container(objects)
    limit = quantity(container["resources"]["limits"]["memory"])
    args = container["args"]
    assert TOKEN_FILE_ARG in args and LISTEN_ARG in args, args
    assert not any(a.startswith("--wolkvox.max-body-size") for a in args), "the chart's default is the exporter's"
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    replaced = {TOKEN_FILE_ARG: f"--wolkvox.token-file={token_file}", LISTEN_ARG: "--web.listen-address=127.0.0.1:0"}
    args = [replaced.get(a, a) for a in args]

    memory = MemoryLimit(limit, f"wolkvox-memory-test-{os.getpid()}-{len(extra_args)}")
    stderr_path = tmp_path / "stderr"
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            memory.command([str(exporter_binary), *args]),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        print(f"memory limit {limit} bytes through {memory.mechanism}; body cap {cap} bytes")

        def alive() -> None:
            code = process.poll()
            if code is not None:
                how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
                pytest.fail(
                    f"the exporter died ({how}; OOM kills: {memory.oom_kills()}) under {memory.mechanism}:\n"
                    + stderr_path.read_text()[-3000:],
                    pytrace=False,
                )

        deadline = time.monotonic() + EVENT_TIMEOUT
        address = None
        while address is None:
            alive()
            assert time.monotonic() < deadline, "no listening line:\n" + stderr_path.read_text()
            found = re.search(r"listening.*?address=(\S+)|address=(\S+).*?listening", stderr_path.read_text())
            address = found and (found.group(1) or found.group(2))
            if address is None:
                time.sleep(0.02)

        # Await the three polls as /metrics counts them: two at the cap, then the one above it.
        counted: dict[str, float] = {}
        while counted.get("success", 0) < 2 or counted.get("decode_error", 0) < 1:
            alive()
            assert time.monotonic() < deadline, f"polls counted so far: {counted}\n" + stderr_path.read_text()
            try:
                counted = polls(scrape(address))
            except OSError:
                # A refused or cut scrape: the process is most likely gone; say how it ended.
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
                alive()
                raise
            time.sleep(0.05)

        alive()
        # Nothing else happened: every poll is one of these.
        assert {result: n for result, n in counted.items() if n} == {
            "success": 2,
            "decode_error": counted["decode_error"],
        }, counted
        assert "larger than" in stderr_path.read_text(), "the decode_error is the cap, not a broken body"
        assert memory.oom_kills() in (None, 0)
        peak = memory.peak()
        if peak is not None:
            print(f"cgroup peak {peak / 2**20:.1f} MiB of {limit / 2**20:.0f} MiB")
        # Still serving after the body above the cap.
        assert 'result="decode_error"' in scrape(address)
    finally:
        process.terminate()
        process.wait(timeout=EVENT_TIMEOUT)
        memory.close()
        upstream.close()
