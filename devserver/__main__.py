"""`make dev`: serve every route of template.yaml on http://127.0.0.1:3000 (PORT overrides)."""

import os
import signal
import sys

from devserver.server import serve
from devserver.sigv4 import REGION, KeyPair
from devserver.stack import LocalCloud, eprint

# The key pair that signs requests when OTP_API_AUTH=iam: local only, like moto's own fake credentials.
LOCAL_KEY_PAIR = KeyPair("AKIDLOCALOTPAPI", "local-otp-api-secret-key")


def _stop(*_: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    port = int(os.environ.get("PORT", "3000"))
    stack = LocalCloud().start()
    api_key = os.environ.get("OTP_API_KEY") or None
    signed_by = LOCAL_KEY_PAIR if os.environ.get("OTP_API_AUTH") == "iam" else None
    server = serve(stack, "127.0.0.1", port, api_key, signed_by)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    routes = "\n".join(f"  {method:5} {base}{path}" for method, path in sorted(stack.routes, key=lambda r: r[1]))
    eprint(f"otp-api is running on {base} (S3, DynamoDB and KMS from moto at {stack.endpoint})\n{routes}")
    eprint(f"  Enrolment demo: {base}/\n  Swagger UI: {base}/swagger\n")
    key_header = ' -H "x-api-key: $OTP_API_KEY"' if api_key else ""
    eprint("API key: required (OTP_API_KEY)" if api_key else "API key: none (set OTP_API_KEY to require one)")
    if signed_by:
        eprint(f"SigV4: required (OTP_API_AUTH=iam), signed for execute-api in {REGION} with the local key pair")
        eprint(f"  AWS_ACCESS_KEY_ID={signed_by.access_key} AWS_SECRET_ACCESS_KEY={signed_by.secret_key}")
        key_header += f' --aws-sigv4 aws:amz:{REGION}:execute-api --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY"'
    eprint("Try:")
    eprint(f"  curl -s -X POST {base}/otp -H 'Content-Type: application/json'{key_header} \\")
    eprint('    -d \'{"type": "time_based", "action": "generate", "label": "alice@example.com"}\'')
    eprint(f"  curl -sL{key_header} -o code.png '{base}/barcodes?type=qr_code&data=hello%20world&scale=4'")
    eprint("Ctrl-C stops everything.\n")
    # Ctrl-C and SIGTERM both stop cleanly, even when started from a shell that ignores SIGINT in the background.
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        stack.stop()
        eprint("stopped")
    sys.exit(0)


if __name__ == "__main__":
    main()
