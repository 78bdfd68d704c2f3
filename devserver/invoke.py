"""`make invoke FUNCTION=OtpFunction EVENT=events/otp-generate.json`: one event, one function.

What `sam local invoke` does, without Docker.
"""

import argparse
import json
from pathlib import Path

from devserver.stack import LocalStack, eprint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("function", help="logical id in template.yaml, e.g. OtpFunction")
    parser.add_argument("event", type=Path, help="an API Gateway event, e.g. events/otp-generate.json")
    args = parser.parse_args()
    event = json.loads(args.event.read_text())
    with LocalStack() as stack:
        if args.function not in stack.functions:
            raise SystemExit(f"no function {args.function!r} in template.yaml; there are: {', '.join(stack.functions)}")
        response = stack.functions[args.function].invoke(event)
    eprint("")
    print(json.dumps(response, indent=2))


if __name__ == "__main__":
    main()
