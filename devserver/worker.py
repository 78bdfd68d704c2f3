"""One function in its own process, like a Lambda instance: JSON events in on stdin, responses out on a pipe.

Runs as a script (`python -I -S worker.py ...` for the packaging test), so it imports nothing of the repo: the
handler sees only the paths it is given, as it would under /var/task and /opt/python.
"""

import argparse
import importlib
import json
import os
import signal
import sys
import time
import traceback
import uuid


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", required=True)
    parser.add_argument("--handler", required=True)
    parser.add_argument("--path", action="append", default=[], help="a directory to import from, in order")
    args = parser.parse_args()
    # Ctrl-C reaches the whole process group; the server stops us by closing stdin, after in-flight requests.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    # Answers go to a private copy of stdout; the function's own prints and logs go to stderr.
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr

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
