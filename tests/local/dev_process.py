"""`make dev`'s own command (`python -m devserver`, as the Makefile runs it) in a session of its own, so that every
process it starts is in one process group and a test can say that none is left behind."""

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from support import ROOT

# The tests that use this module read process groups from /proc.
needs_proc = pytest.mark.skipif(not Path("/proc").is_dir(), reason="process groups are read from /proc")
BANNER_END = "Ctrl-C stops everything."
# What `make dev` reads from the environment: none of the test run's own.
SETTINGS = ("PORT", "OTP_API_KEY", "OTP_API_AUTH", "REGIONS")


def environment(**settings: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if k not in SETTINGS}, **settings}


def processes_in_group(group: int) -> list[str]:
    """The processes still in a process group, with their command lines (Linux: /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            found.append(command.strip())
    return found


def run(settings: dict[str, str], *args: str, timeout: float = 60) -> tuple[subprocess.CompletedProcess, list[str]]:
    """Run the command to its end (one that does not start the server); what it printed, and any process it left
    behind (then stopped here, so that a failing test leaks nothing)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "devserver", *args],
        cwd=ROOT,
        env=environment(**settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=timeout)
    finally:
        time.sleep(0.2)
        left = processes_in_group(process.pid)
        if left:
            os.killpg(process.pid, signal.SIGKILL)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err), left


class DevServer:
    """`with DevServer(settings) as server:` the server running on a free port (`server.base`), its terminal's
    lines in `server.lines` (stdout and stderr, in order); on leaving, stopped with SIGTERM, and no process left."""

    def __init__(self, settings: dict[str, str] | None = None, *args: str) -> None:
        self.settings, self.args = {"PORT": "0", **(settings or {})}, args
        self.lines: list[str] = []
        self.left_behind: list[str] = []

    def __enter__(self) -> "DevServer":
        self.process = subprocess.Popen(
            [sys.executable, "-m", "devserver", *self.args],
            cwd=ROOT,
            env=environment(**self.settings),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + 90
        while not any(line.startswith(BANNER_END) for line in self.lines):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError("make dev did not start:\n" + "\n".join(self.lines))
            time.sleep(0.05)
        match = re.search(r"running on (http://\S+)", "\n".join(self.lines))
        assert match, self.lines
        self.base = match.group(1)
        return self

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def banner(self) -> list[str]:
        end = next(i for i, line in enumerate(self.lines) if line.startswith(BANNER_END))
        return self.lines[: end + 1]

    def wait_for(self, text: str, timeout: float = 30) -> None:
        """Until a line of the terminal holds `text` (what the server prints on its own, such as an event's line)."""
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            assert time.monotonic() < deadline, f"no line with {text!r}:\n" + "\n".join(self.lines)
            time.sleep(0.1)

    def after_banner(self) -> list[str]:
        """The terminal since the banner (its closing blank line left out)."""
        rest = self.lines[len(self.banner) :]
        return rest[1:] if rest[:1] == [""] else rest

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        finally:
            self._reader.join(timeout=10)
            time.sleep(0.2)
            self.left_behind = processes_in_group(self.process.pid)
            if self.left_behind:
                os.killpg(self.process.pid, signal.SIGKILL)

    def __exit__(self, failed: object, *exc: object) -> None:
        self.stop()
        assert failed or not self.left_behind, self.left_behind
