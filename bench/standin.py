"""The AWS stand-in of `make bench`: a loopback HTTP server that answers S3, DynamoDB and KMS as AWS does, so the
functions' calls make a real socket and HTTP round trip (botocore serialises, signs, sends, waits and parses).

KMS is an identity cipher (Encrypt's blob is the plaintext, and back), DynamoDB answers every UpdateItem with an
accepted item and every GetItem with none, S3 takes every PUT and answers a HEAD as stored (with its metadata) or
missing, as the bench case asks through the bucket's name.
"""

import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STORED_BUCKET = "otp-api-bench-stored"


class _StandIn(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *_args: object) -> None:
        pass

    def _answer(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_POST(self) -> None:
        target, sent = self.headers.get("X-Amz-Target", ""), self._body()
        if target.startswith("TrentService."):
            request = json.loads(sent)
            field = "CiphertextBlob" if target.endswith("Encrypt") else "Plaintext"
            blob = request.get("Plaintext") or request.get("CiphertextBlob")
            body = json.dumps({field: blob, "KeyId": "arn:aws:kms:us-east-1:000000000000:key/bench"}).encode()
            self._answer(200, body, {"Content-Type": "application/x-amz-json-1.1"})
        elif target == "DynamoDB_20120810.UpdateItem":
            item = {"last_used": {"N": str(int(time.time()))}, "used": {"NS": ["0"]}, "decided_by": {"S": "bench"}}
            self._answer(200, json.dumps({"Attributes": item}).encode(), {"Content-Type": "application/x-amz-json-1.0"})
        elif target == "DynamoDB_20120810.GetItem":
            self._answer(200, b"{}", {"Content-Type": "application/x-amz-json-1.0"})
        else:
            self._answer(400, b'{"__type": "UnknownOperationException"}')

    def do_PUT(self) -> None:
        self._body()
        self._answer(200, b"", {"ETag": '"0"'})

    def do_HEAD(self) -> None:
        host = self.headers.get("Host", "")
        if host.startswith(STORED_BUCKET) or self.path.startswith(f"/{STORED_BUCKET}/"):
            last_modified = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())
            headers = {"Last-Modified": last_modified, "x-amz-meta-width": "228", "x-amz-meta-height": "228"}
            self._answer(200, b"", headers)
        else:
            self._answer(404)


def start() -> ThreadingHTTPServer:
    import threading

    server = ThreadingHTTPServer(("127.0.0.1", 0), _StandIn)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
