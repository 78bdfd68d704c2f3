"""One function in its own process, like a Lambda instance: JSON events in on stdin, responses out on a pipe.

Runs as a script (`python -I -S worker.py ...` for the packaging test), so it imports nothing of the repo: the
handler sees only the paths it is given, as it would under /var/task and /opt/python.
"""

import argparse
import importlib
import io
import json
import os
import signal
import sys
import time
import traceback
import uuid
from typing import Any

# Fields of a log record that name what happened, never a value the caller sent (the service logs nothing else of a
# request: tests/handler/test_no_secrets_in_logs.py).
CODES = ("error", "error_code", "error_type")


class Context:
    """What Lambda hands a handler: its memory and a deadline from the template's Timeout (OTP_LOCAL_* set by
    functions.py), so the function budgets its AWS calls as it would deployed."""

    def __init__(self, name: str) -> None:
        self.function_name = name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = int(os.environ.get("OTP_LOCAL_MEMORY_MB", "1024"))
        self._deadline = time.monotonic() + int(os.environ.get("OTP_LOCAL_TIMEOUT_SECONDS", "10"))
        self.invoked_function_arn = f"arn:aws:lambda:local:000000000000:function:{name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self._deadline - time.monotonic()) * 1000), 0)


class Quiet(io.TextIOBase):
    """The function's output as the terminal shows it by default: EMF metric blobs left out, each JSON log record
    (Powertools) made one short line of its message and codes (`OtpFunction request refused: invalid_parameter
    (code)`), anything else (a print, a traceback) as it is."""

    def __init__(self, name: str, terminal: Any) -> None:
        self.name, self.terminal, self.pending = name, terminal, ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        *lines, self.pending = (self.pending + text).split("\n")
        for line in lines:
            if (shown := self.short(line)) is not None:
                self.terminal.write(shown + "\n")
        self.terminal.flush()
        return len(text)

    def short(self, line: str) -> str | None:
        try:
            record = json.loads(line)
        except ValueError:
            return line
        if not isinstance(record, dict):
            return line
        if "_aws" in record:  # a metric, for CloudWatch
            return None
        if not {"level", "message"} <= record.keys():
            return line
        level = "" if record["level"] == "INFO" else f" {record['level']}"
        codes = ", ".join(str(record[key]) for key in CODES if record.get(key))
        parameter = f" ({record['parameter']})" if record.get("parameter") else ""
        return f"{self.name}{level} {record['message']}{f': {codes}' if codes else ''}{parameter}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", required=True)
    parser.add_argument("--handler", required=True)
    parser.add_argument("--path", action="append", default=[], help="a directory to import from, in order")
    parser.add_argument("--verbose", action="store_true", help="logs and metrics as CloudWatch would get them")
    args = parser.parse_args()
    # Ctrl-C reaches the whole process group; the server stops us by closing stdin, after in-flight requests.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    # Answers go to a private copy of stdout; the function's own prints, logs and metrics (Powertools writes both to
    # sys.stdout) go to stderr, the terminal's, in full or shortened.
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr if args.verbose else Quiet(args.name, sys.stderr)

    sys.path[:0] = args.path
    module_name, function_name = args.handler.rsplit(".", 1)
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
    except Exception:
        traceback.print_exc()
        answers.write(json.dumps({"initError": traceback.format_exc(limit=3)}) + "\n")
        answers.flush()
        sys.exit(1)
    answers.write(json.dumps({"ready": True}) + "\n")
    answers.flush()
    for line in sys.stdin:
        try:
            result = {"response": handler(json.loads(line), Context(args.name))}
        except Exception:
            traceback.print_exc()
            result = {"error": "the function raised; see its output above"}
        answers.write(json.dumps(result) + "\n")
        answers.flush()


if __name__ == "__main__":
    main()
