"""Start a function's worker process and invoke it, one event at a time (as one Lambda instance would)."""

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

WORKER = Path(__file__).with_name("worker.py")


class FunctionError(RuntimeError):
    pass


class FunctionProcess:
    def __init__(
        self,
        name: str,
        handler: str,
        paths: list[Path],
        environment: dict[str, str],
        python: str = sys.executable,
        isolated: bool = False,
    ) -> None:
        self.name = name
        # -I -S: no site-packages, no PYTHONPATH, no user site; only the given paths (the packaging test).
        flags = ["-I", "-S"] if isolated else []
        command = [python, *flags, str(WORKER), "--name", name, "--handler", handler]
        for path in paths:
            command += ["--path", str(path)]
        base = {key: value for key, value in os.environ.items() if not isolated or key in ("PATH", "HOME", "LANG")}
        self._proc = subprocess.Popen(  # noqa: S603 - our own worker script
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env={**base, **environment}
        )
        self._lock = threading.Lock()
        first = self._read()
        if "ready" not in first:
            self.close()
            raise FunctionError(f"{name} failed to start:\n{first.get('initError', first)}")

    def _read(self) -> dict[str, Any]:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise FunctionError(f"{self.name} exited (code {self._proc.poll()})")
        return json.loads(line)

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            assert self._proc.stdin is not None
            self._proc.stdin.write(json.dumps(event) + "\n")
            self._proc.stdin.flush()
            answer = self._read()
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
