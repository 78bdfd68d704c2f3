"""A function's worker process, invoked one event at a time (as one Lambda instance would), and supervised: a
worker that dies is started again, and one that runs past the function's Timeout is stopped and started again, as
Lambda stops an invocation at its Timeout."""

import json
import os
import selectors
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

WORKER = Path(__file__).with_name("worker.py")


class FunctionError(RuntimeError):
    pass


def _eprint(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class FunctionProcess:
    def __init__(
        self,
        name: str,
        handler: str,
        paths: list[Path],
        environment: dict[str, str],
        python: str = sys.executable,
        isolated: bool = False,
        timeout: float = 10.0,
        verbose: bool = False,
    ) -> None:
        self.name = name
        self.timeout = timeout
        # -I -S: no site-packages, no PYTHONPATH, no user site; only the given paths (the packaging test).
        flags = ["-I", "-S"] if isolated else []
        self._command = [python, *flags, str(WORKER), "--name", name, "--handler", handler]
        self._command += ["--verbose"] if verbose else []
        for path in paths:
            self._command += ["--path", str(path)]
        base = {key: value for key, value in os.environ.items() if not isolated or key in ("PATH", "HOME", "LANG")}
        self._env = {**base, **environment, "OTP_LOCAL_TIMEOUT_SECONDS": str(timeout)}
        self._lock = threading.Lock()
        self._start()

    def _start(self) -> None:
        self._proc = subprocess.Popen(  # noqa: S603 - our own worker script
            self._command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=self._env
        )
        first = self._read(timeout=60)
        if "ready" not in first:
            self.close()
            raise FunctionError(f"{self.name} failed to start:\n{first.get('initError', first)}")

    def _read(self, timeout: float) -> dict[str, Any]:
        assert self._proc.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self._proc.stdout, selectors.EVENT_READ)
            if not selector.select(timeout):
                raise TimeoutError
        line = self._proc.stdout.readline()
        if not line:
            raise FunctionError(f"{self.name} exited (code {self._proc.poll()})")
        return json.loads(line)

    def _restart(self, why: str) -> None:
        _eprint(f"{self.name} {why}: starting it again")
        self._proc.kill()
        self._proc.wait()
        self._start()

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if self._proc.poll() is not None:  # died since the last request
                self._restart(f"exited (code {self._proc.returncode})")
            assert self._proc.stdin is not None
            started = time.monotonic()
            try:
                self._proc.stdin.write(json.dumps(event) + "\n")
                self._proc.stdin.flush()
                answer = self._read(timeout=self.timeout)
            except TimeoutError:
                self._restart(f"ran past its Timeout ({self.timeout:g} s)")
                raise FunctionError(f"Task timed out after {time.monotonic() - started:.2f} seconds") from None
            except (BrokenPipeError, FunctionError) as exc:
                self._restart(f"failed ({exc})")
                raise FunctionError(str(exc)) from None
        if "response" not in answer:
            raise FunctionError(f"{self.name}: {answer.get('error')}")
        return answer["response"]

    def close(self) -> None:
        if self._proc.poll() is None:
            if self._proc.stdin:
                self._proc.stdin.close()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
