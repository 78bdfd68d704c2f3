"""`make invoke FUNCTION=OtpFunction EVENT=events/otp-generate.json`: one event, one function.

What `sam local invoke` does, without Docker.
"""

import argparse
import json
from pathlib import Path

from devserver.stack import LocalCloud, eprint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("function", help="logical id in template.yaml, e.g. OtpFunction")
    parser.add_argument(
        "event", type=Path, help="an event, e.g. events/otp-generate.json (events/state-stream.json: EventsFunction's)"
    )
    args = parser.parse_args()
    try:
        event = json.loads(args.event.read_text())
    except FileNotFoundError:
        events = ", ".join(sorted(str(path) for path in Path("events").glob("*.json")))
        raise SystemExit(f"no event file {args.event}; the sample events are: {events}") from None
    except (OSError, ValueError) as exc:
        raise SystemExit(f"{args.event} is not a readable JSON event: {exc}") from None
    with LocalCloud(verbose=True) as stack:  # the function's logs and metrics in full, as `sam local invoke` shows
        if args.function not in stack.functions:
            raise SystemExit(f"no function {args.function!r} in template.yaml; there are: {', '.join(stack.functions)}")
        response = stack.functions[args.function].invoke(event)
    eprint("")
    print(json.dumps(response, indent=2))
    if "X-Amz-Signature" in json.dumps(response):  # the local S3 stops with this command
        eprint(
            "Note: image URLs above pointed at a local S3 that stopped with this command; `make dev` keeps one running."
        )


if __name__ == "__main__":
    main()
