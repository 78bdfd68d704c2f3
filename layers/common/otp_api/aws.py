"""botocore clients, and every AWS call made within the invocation's time.

botocore directly rather than boto3: boto3's session, resource layer and S3 transfer manager cost about 25 ms of
cold start and nothing here needs them. Nothing imports botocore until a request needs AWS: the verify path without
replay protection never does.

The time budget. Lambda stops a function at its Timeout (10 s), and API Gateway then answers 502 with no
Retry-After: a slow AWS service must become our documented 503 first. botocore makes each attempt once (no retries
of its own, whose backoff and Retry-After waits have no bound we control), with short timeouts; `call` retries a
failure that may pass once, and only while the invocation has time for a whole attempt. So every path answers in
time, the worst (sealed generate with a stored image, a replayed sealed verify) included.

The models. The layer holds botocore's data cut to the operations the functions call (aws_operations.py), and the
session loads models from there alone: making the DynamoDB and KMS clients then reads 14 kB of models instead of
listing ~900 service folders and decoding the whole DynamoDB and KMS models and the 1.25 MB endpoints.json. The cut
is used only by the botocore it was cut from, which the layer ships (so in Lambda it always is, whatever botocore
the runtime has); the code run from source (tests, the local server) loads botocore's own full data.
"""

import os
import random
import time
from collections.abc import Callable
from functools import cache, wraps
from typing import Any

from otp_api import aws_operations, packages
from otp_api.settings import get_settings

# urllib3's HTTP/2 support, which botocore never turns on, imports importlib.metadata (and zipfile, shutil, tempfile
# with it) in its package's __init__, where urllib3 itself needs its `probe` module alone: about 11 ms of CPU at every
# cold start that makes a client. Entered without that __init__ before anything imports urllib3 (otp_api/packages.py).
HTTP2 = "urllib3.http2"
packages.enter(HTTP2)

CONNECT_TIMEOUT, READ_TIMEOUT = 1.0, 2.0  # seconds: a DynamoDB or KMS answer takes milliseconds
WARM_UP_SECONDS = 0.5  # the most init waits for `warm_up`'s calls (a TLS handshake in the region: milliseconds)
ATTEMPT_SECONDS = CONNECT_TIMEOUT + READ_TIMEOUT  # the longest one attempt can take
ATTEMPTS = 2
MARGIN = 0.5  # seconds kept back for answering after the last call
UNINVOKED_BUDGET = 10.0  # outside an invocation (scripts, warm-up): the template's Timeout
# Errors worth one more attempt: throttling and the service's own failures. Anything else (AccessDenied, a missing
# table or key, a refused condition) will not pass by trying again.
THROTTLING = frozenset(
    {
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "SlowDown",
        "Throttling",
        "TooManyRequestsException",
    }
)

_deadline: list[float | None] = [None]  # while an invocation runs: when its calls must be done (monotonic)


class AwsFailure(Exception):
    """A call that did not succeed. `maybe_done`: an attempt was sent and its answer lost (a read timeout or a
    dropped connection), so the service may have done it; otherwise it surely did nothing."""

    def __init__(self, code: str, maybe_done: bool) -> None:
        super().__init__(code)
        self.code = code
        self.maybe_done = maybe_done


def within_remaining_time(handler: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """Decorate a Lambda handler: its AWS calls stop in time for it to answer (context.get_remaining_time_in_millis
    at the start of the invocation, less a margin)."""

    @wraps(handler)
    def within(event: Any, context: Any) -> Any:
        remaining = context.get_remaining_time_in_millis() / 1000
        _deadline[0] = time.monotonic() + remaining - MARGIN
        try:
            return handler(event, context)
        finally:
            _deadline[0] = None

    return within


def time_left() -> float:
    deadline = _deadline[0]
    return UNINVOKED_BUDGET if deadline is None else deadline - time.monotonic()


def cut_data_folder() -> str | None:
    """The layer's cut of botocore's data for the botocore that runs, if there is one (scripts/botocore_data.py)."""
    import botocore

    here = os.path.dirname(aws_operations.__file__)
    folder = os.path.join(here, aws_operations.DATA_FOLDER, botocore.__version__)
    return folder if os.path.isdir(folder) else None


def cut_data_loader(folder: str) -> Any:
    """A botocore data loader that searches `folder` alone. Its endpoints.json counts as botocore's own (it is a
    cut of it): otherwise botocore would hand the legacy endpoint to the rule sets as a custom one, and FIPS and
    dual-stack endpoints would no longer resolve as they do."""
    from botocore.loaders import Loader

    class CutLoader(Loader):
        def is_builtin_path(self, path: str) -> bool:
            return path.startswith(folder)

    # (the sdk extras are merged into the cut models: no need to look for extras files)
    return CutLoader(extra_search_paths=[folder], include_default_search_paths=False, include_default_extras=False)


@cache
def _session() -> Any:
    import botocore.session

    packages.attach(HTTP2)  # (urllib3 is imported now)
    session = botocore.session.get_session()
    folder = cut_data_folder()
    if folder:
        session.register_component("data_loader", cut_data_loader(folder))
    return session


def client(service: str, **config: Any) -> Any:
    """A client that sends each attempt once, with short timeouts (`call` decides about a second)."""
    from botocore.config import Config

    options = Config(
        retries={"total_max_attempts": 1, "mode": "standard"},
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        **config,
    )
    made = _session().create_client(service, region_name=get_settings().region, config=options)
    _trust_once(made._endpoint.http_session)
    return made


def _trust_once(http: Any) -> None:
    """Have a client's connections use the process's one TLS context for its CA bundle (`trust_context`) instead of
    loading the bundle again. botocore gives each client an SSL context of its own and names its bundle on every
    connection, so urllib3 loads the whole bundle (126 certificates) into that context once per new connection:
    18 to 44 ms each (urllib3#3623, botocore#3171). What is trusted and checked stays botocore's: the bundle it
    chose (AWS_CA_BUNDLE, REQUESTS_CA_BUNDLE, certifi or its own), certificate and hostname checks on. Connections
    through a proxy, and a client made with verify=False, are left as botocore makes them; so is a client whose
    bundle does not load (a wrong AWS_CA_BUNDLE), which then fails on connecting, as it would have. An
    AWS_CA_BUNDLE that names a directory of hashed certificates (as `openssl rehash` makes one), which botocore
    would hand to OpenSSL as a file, is read as a directory, through a proxy too."""
    from botocore.httpsession import get_cert_path

    if not http._verify:
        return
    bundle = get_cert_path(http._verify)
    try:
        context = trust_context(bundle)
    except OSError:  # (ssl.SSLError too)
        return
    directory = os.path.isdir(bundle)
    http._manager.connection_pool_kw["ssl_context"] = context  # the pools it makes from now on (none made yet)
    setup_ssl_cert = http._setup_ssl_cert

    def setup_ssl_cert_once(conn: Any, url: str, verify: Any) -> None:
        setup_ssl_cert(conn, url, verify)
        if conn.ca_certs != bundle:
            return
        if conn.conn_kw.get("ssl_context") is context:
            conn.ca_certs = None  # loaded into the pool's context already: not loaded again
        elif directory:
            conn.ca_certs, conn.ca_cert_dir = None, bundle  # (a proxy's pool, with a context of its own)

    http._setup_ssl_cert = setup_ssl_cert_once


CA_FOLDER = "ca_certificates"  # in the built layer: <SHA-256 of a bundle>/, its certificates hashed (the Makefile)


def hashed_folder(bundle: bytes) -> str | None:
    """The built layer's directory of hashed certificates made from a bundle of these very bytes
    (scripts/ca_directory.py), if there is one: the same certificates, which OpenSSL reads only as a chain needs
    them, where loading the bundle parses all of them (22 ms of CPU here)."""
    import hashlib

    folder = os.path.join(os.path.dirname(__file__), CA_FOLDER, hashlib.sha256(bundle).hexdigest())
    return folder if os.path.isdir(folder) else None


@cache
def trust_context(bundle: str) -> Any:
    """botocore's TLS context trusting `bundle`, made once per process and bundle. The bundle botocore chooses in
    Lambda has its certificates in the layer as a directory of hashed certificates (`hashed_folder`), which is
    loaded instead: nothing is parsed until a handshake needs its root. Without it (the code run from source, or
    another bundle), a bundle of certificates alone has its PEM blocks handed to OpenSSL as text, which it parses
    in half the time it takes to load the file itself (22 against 41 ms here, OpenSSL 3.0); any other bundle is
    loaded as a file. A directory (AWS_CA_BUNDLE) is loaded as one."""
    import re

    from botocore.httpsession import create_urllib3_context

    context = create_urllib3_context()
    if os.path.isdir(bundle):
        context.load_verify_locations(capath=bundle)
        return context
    with open(bundle, "rb") as file:
        data = file.read()
    folder = hashed_folder(data)
    if folder:
        context.load_verify_locations(capath=folder)
        return context
    blocks = re.findall(rb"-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----", data)
    if blocks and len(blocks) == data.count(b"-----BEGIN "):
        context.load_verify_locations(cadata=b"\n".join(blocks).decode("ascii"))
    else:
        context.load_verify_locations(cafile=bundle)
    return context


def warm_up(*calls: Callable[[], Any]) -> None:
    """Make `calls` now (at init), each in a thread of its own, so that the connections they open are pooled for the
    first request. Waits at most WARM_UP_SECONDS in all and never fails: a call not done by then finishes (or not)
    on its own, and a failure is logged at debug, its type only."""
    import threading

    def run(call: Callable[[], Any]) -> None:
        try:
            call()
        except Exception as exc:  # a warm-up only: the first request will say what is wrong
            from otp_api.observability import logger

            logger.debug("connection warm-up failed", extra={"error_type": type(exc).__name__})

    threads = [threading.Thread(target=run, args=(call,), daemon=True) for call in calls]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + WARM_UP_SECONDS
    for thread in threads:
        thread.join(max(deadline - time.monotonic(), 0))


def call(operation: Callable[..., Any], final: frozenset[str] = frozenset(), **request: Any) -> Any:
    """`operation(**request)`, tried at most twice while time allows. Raises AwsFailure, or the ClientError itself
    for a code in `final` (an answer the caller reads, such as a refused condition)."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectionClosedError,
        ReadTimeoutError,
        ResponseStreamingError,
    )

    maybe_done, code = False, "no_time"
    for attempt in range(ATTEMPTS):
        if time_left() < ATTEMPT_SECONDS:
            break
        try:
            return operation(**request)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "") or "error"
            if code in final:
                exc.maybe_done = maybe_done  # an earlier attempt's answer was lost (the caller may send it again)
                raise
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if code not in THROTTLING and status < 500:
                raise AwsFailure(code, maybe_done) from None
        except (ReadTimeoutError, ConnectionClosedError, ResponseStreamingError) as exc:
            maybe_done, code = True, type(exc).__name__  # sent: the service may have done it
        except BotoCoreError as exc:  # not connected, not sent
            code = type(exc).__name__
        if attempt + 1 < ATTEMPTS:
            time.sleep(min(random.uniform(0.02, 0.1), max(time_left() - ATTEMPT_SECONDS, 0)))
    raise AwsFailure(code, maybe_done)
