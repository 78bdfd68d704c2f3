"""`make dev`: serve every route of template.yaml on http://127.0.0.1:3000 (PORT or --port overrides; --verbose, or
`make dev VERBOSE=1`, shows the functions' logs and metrics in full; --parameters, or `make dev
PARAMETERS='MaxConsecutiveFailures=3 LockoutWindowSeconds=60'`, sets template parameters as `sam deploy
--parameter-overrides` does)."""

import argparse
import os
import shlex
import signal
import sys
from urllib.parse import quote, urlencode

from devserver.functions import FunctionError
from devserver.server import CannotListen, serve
from devserver.sigv4 import REGION, curl_options
from devserver.stack import LocalCloud, eprint
from tooling.sigv4 import SERVICE, KeyPair
from tooling.template import ParameterError, parameter_overrides

# The key pair that signs requests when OTP_API_AUTH=iam: local only, like moto's own fake credentials.
LOCAL_KEY_PAIR = KeyPair("AKIDLOCALOTPAPI", "local-otp-api-secret-key")
# The barcode the banner's GET /barcodes asks for. Sorted, as AWS signs a query string: curl 7.x signs it as written.
SAMPLE_BARCODE = sorted({"type": "qr_code", "data": "hello world", "scale": "4"}.items())


def _stop(*_: object) -> None:
    raise KeyboardInterrupt


def _port(value: str) -> int:
    if not (value.isascii() and value.isdigit() and int(value) <= 65535):
        raise SystemExit(f"PORT must be a port number, 0 to 65535 (0: any free port), not {value!r}")
    return int(value)


def try_commands(base: str, api_key: str | None, signed_by: KeyPair | None) -> list[str]:
    """What the banner offers to paste into another terminal, which has none of this one's variables: every value
    is written out (the key, the key pair), and the region an SDK needs is exported."""
    commands, auth = [], ""
    if api_key:
        auth = f" -H {shlex.quote(f'x-api-key: {api_key}')}"
    if signed_by:
        keys = f"AWS_ACCESS_KEY_ID={signed_by.access_key} AWS_SECRET_ACCESS_KEY={signed_by.secret_key}"
        commands.append(f"export {keys} AWS_REGION={REGION} AWS_DEFAULT_REGION={REGION}  # for boto3, the AWS CLI")
        auth = f" {curl_options(signed_by)}"
    commands.append(
        f"curl -s -X POST {base}/otp -H 'Content-Type: application/json'{auth} \\\n"
        """    -d '{"type": "time_based", "action": "generate", "label": "alice@example.com"}'"""
    )
    query = urlencode(SAMPLE_BARCODE, quote_via=quote)
    commands.append(f"curl -sL{auth} -o code.png '{base}/barcodes?{query}'")
    return commands


def http_api_type(value: str, api_key: str | None) -> bool:
    """OTP_API_TYPE: `rest` (the default, ApiType=REST) or `http` (ApiType=HTTP: payload 2.0, and no API keys)."""
    if value.lower() not in ("rest", "http"):
        raise SystemExit(f"OTP_API_TYPE must be rest or http, not {value!r}")
    if value.lower() == "http" and api_key:
        raise SystemExit(
            "an HTTP API has no API keys: OTP_API_TYPE=http with OTP_API_AUTH=iam or no auth, no OTP_API_KEY"
        )
    return value.lower() == "http"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devserver", description=__doc__)
    parser.add_argument("--port", default=os.environ.get("PORT") or "3000", help="the port (PORT; 0: any free port)")
    parser.add_argument("--verbose", action="store_true", help="the functions' logs and metrics in full")
    parser.add_argument(
        "--parameters",
        default=os.environ.get("PARAMETERS", ""),
        help="template parameters, as sam deploy --parameter-overrides spells them (PARAMETERS): 'Name=Value ...'",
    )
    parser.add_argument(
        "--regions",
        default=os.environ.get("REGIONS") or "1",
        help="1, or 3: three Regions' APIs on PORT, PORT+1 and PORT+2 sharing one state table (REGIONS)",
    )
    # one Region of --regions 3 (regions.py starts each so)
    parser.add_argument("--region", default=REGION, help=argparse.SUPPRESS)
    parser.add_argument("--moto-endpoint", default="", help=argparse.SUPPRESS)
    parser.add_argument("--state-regions", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    port = _port(args.port)
    if args.regions not in ("1", "3"):
        raise SystemExit(f"REGIONS must be 1 or 3 (three Regions, as StateRegions names them), not {args.regions!r}")
    try:
        parameters = parameter_overrides(args.parameters)
        # the template read, the values checked
        stack = LocalCloud(
            verbose=args.verbose,
            parameters=parameters,
            region=args.region,
            moto_endpoint=args.moto_endpoint,
            state_regions=args.state_regions,
        )
    except ParameterError as exc:
        raise SystemExit(f"PARAMETERS: {exc}") from None
    if args.regions == "3":
        from devserver.regions import serve_regions

        signal.signal(signal.SIGTERM, _stop)
        passed = ["--verbose"] if args.verbose else []
        serve_regions(port, passed + (["--parameters", args.parameters] if args.parameters else []))
    api_key = os.environ.get("OTP_API_KEY") or None
    signed_by = LOCAL_KEY_PAIR if os.environ.get("OTP_API_AUTH") == "iam" else None
    http_api = http_api_type(os.environ.get("OTP_API_TYPE", "rest"), api_key)
    # Ctrl-C and SIGTERM both stop cleanly, even when started from a shell that ignores SIGINT in the background,
    # and even while starting.
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        server = serve(stack, "127.0.0.1", port, api_key, signed_by, http_api)  # the port first: none started if taken
    except CannotListen as exc:
        hint = f" (another make dev?): stop it, or choose another port: PORT={port + 1} make dev" if exc.in_use else ""
        raise SystemExit(f"{exc}{hint}") from None
    try:
        stack.serve_passkeys_at(server.server_address[1])
        stack.start()
        base = f"http://127.0.0.1:{server.server_address[1]}"
        banner(base, stack, api_key, signed_by)
        if http_api:
            eprint("API type: HTTP (OTP_API_TYPE=http): the functions get payload 2.0 events, as ApiType=HTTP\n")
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    except (FunctionError, RuntimeError) as exc:  # a function that cannot start, moto that will not
        eprint(f"could not start: {exc}")
        sys.exit(1)
    finally:
        server.server_close()
        stack.stop()
        eprint("stopped")
    sys.exit(0)


def banner(base: str, stack: LocalCloud, api_key: str | None, signed_by: KeyPair | None) -> None:
    routes = "\n".join(f"  {method:5} {base}{path}" for method, path in sorted(stack.routes, key=lambda r: r[1]))
    where = f" in {stack.region}, one of {stack.state_regions}" if stack.state_regions else ""
    eprint(
        f"otp-api is running on {base}{where} (S3, DynamoDB, KMS and EventBridge from moto at {stack.endpoint})\n"
        f"{routes}"
    )
    eprint(f"  Enrolment demo: {base}/\n  Swagger UI: {base}/swagger")
    if stack.extra_env.get("PASSKEY_RP_ID") == "localhost":
        eprint(f"  Passkeys: open the demo as {base.replace('127.0.0.1', 'localhost')}/ (RP ID localhost)")
    eprint("  Security events: one line each below, as the events function puts them on the bus (docs/events.md)\n")
    if stack.parameters:
        given = " ".join(f"{name}={value}" for name, value in stack.parameters.items())
        eprint(f"Template parameters: {given} (the others at template.yaml's defaults)")
    eprint("API key: required (OTP_API_KEY)" if api_key else "API key: none (set OTP_API_KEY to require one)")
    if signed_by:
        eprint(f"SigV4: required (OTP_API_AUTH=iam), for {SERVICE} in {REGION}, signed with the local key pair")
    eprint("Try, in another terminal:")
    for command in try_commands(base, api_key, signed_by):
        eprint(f"  {command}")
    eprint(f"Ctrl-C stops everything.{'' if stack.verbose else ' Logs and metrics in full: make dev VERBOSE=1'}\n")


if __name__ == "__main__":
    main()
