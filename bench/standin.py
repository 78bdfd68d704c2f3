"""The AWS stand-in of `make bench`: a loopback HTTPS server that answers S3, DynamoDB and KMS as AWS does, so the
functions' calls make a real socket, TLS and HTTP round trip (botocore serialises, signs, connects, verifies the
certificate, sends, waits and parses).

Its certificate is made for the run (`cryptography`): a throwaway CA and a leaf for 127.0.0.1, RSA 2048 as AWS's
endpoints use. The clients trust it through AWS_CA_BUNDLE (`ca_bundle`): the CA bundle botocore loads by default
(certifi's where installed) with the throwaway CA appended, so a new connection parses about as many certificates
as it would in Lambda. (The bench gives the functions a directory of hashed certificates instead: their layer's,
with the throwaway CA.)

KMS is an identity cipher (Encrypt's blob is the plaintext, and back), DynamoDB answers every UpdateItem with an
accepted item and every GetItem with none, S3 takes every PUT and answers a HEAD as stored (with its metadata) or
missing, as the bench case asks through the bucket's name.
"""

import datetime
import json
import ssl
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

STORED_BUCKET = "otp-api-bench-stored"


class _StandIn(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def setup(self) -> None:
        self.server.connections += 1
        context = getattr(self.server, "tls", None)
        if context:  # the handshake in this connection's thread, not the accepting one
            self.request = context.wrap_socket(self.request, server_side=True)
        super().setup()

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
        if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b""  # an S3 PUT with its checksum in a trailer: read it all, or the connection cannot be reused
        while size := int(self.rfile.readline().split(b";")[0], 16):
            body += self.rfile.read(size + 2)[:-2]
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers, then the blank line
            pass
        return body

    def do_POST(self) -> None:
        target, sent = self.headers.get("X-Amz-Target", ""), self._body()
        self.server.seen.append(target)
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
        self.server.seen.append(f"PUT {self.path}")
        self._answer(200, b"", {"ETag": '"0"'})

    def do_HEAD(self) -> None:
        self.server.seen.append(f"HEAD {self.path}")
        host = self.headers.get("Host", "")
        if host.startswith(STORED_BUCKET) or self.path.startswith(f"/{STORED_BUCKET}/"):
            last_modified = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())
            headers = {"Last-Modified": last_modified, "x-amz-meta-width": "228", "x-amz-meta-height": "228"}
            self._answer(200, b"", headers)
        else:
            self._answer(404)


class StandIn(ThreadingHTTPServer):
    daemon_threads = True
    connections = 0  # accepted so far: a reused connection is not counted again

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.seen: list[str] = []  # each request: its X-Amz-Target, or S3's method and path

    tls: ssl.SSLContext | None = None
    ca_bundle = ""  # with TLS: the CA bundle that trusts it
    ca = ""  # with TLS: its throwaway CA's certificate (PEM)

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.server_address[1]}"


def _certificate(folder: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a leaf certificate for 127.0.0.1 signed by it: (CA, leaf, leaf's key) PEM files."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = (rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2))
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "otp-api bench CA")])
    ca_usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(ca_usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = folder / "ca.pem", folder / "leaf.pem", folder / "leaf-key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


def start(tls: bool = False) -> StandIn:
    """The stand-in, serving in a thread of its own; with `tls`, over HTTPS with a certificate made now."""
    import threading

    server = StandIn(("127.0.0.1", 0), _StandIn)
    if tls:
        from botocore.httpsession import get_cert_path

        folder = Path(tempfile.mkdtemp(prefix="otp-api-bench-tls-"))
        ca, leaf, key = _certificate(folder)
        server.tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server.tls.load_cert_chain(leaf, key)
        bundle = folder / "ca-bundle.pem"
        bundle.write_text(Path(get_cert_path(True)).read_text() + "\n" + ca.read_text())
        server.ca_bundle, server.ca = str(bundle), str(ca)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
