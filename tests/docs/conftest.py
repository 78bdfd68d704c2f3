"""The local server the docs' examples run against, as `make dev` serves it (devserver's LocalCloud and serve, as the
e2e suite starts it): one without auth, as plain `make dev`, and one that requires SigV4 with the local key pair, as
`OTP_API_AUTH=iam make dev`, both in front of the same functions and moto server."""

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class DocServers:
    open: str  # http://127.0.0.1:<port>, no auth
    iam: str  # requires SigV4 signed with devserver's LOCAL_KEY_PAIR


@pytest.fixture(scope="session")
def doc_servers() -> Iterator[DocServers]:
    from devserver.__main__ import LOCAL_KEY_PAIR
    from devserver.server import serve
    from devserver.stack import LocalCloud

    # passkeys on, as make dev has them (the docs' passkey examples ask for options only: no authenticator here)
    with LocalCloud(extra_env={"PASSKEY_RP_ID": "localhost", "PASSKEY_ORIGINS": "http://localhost:3000"}) as stack:
        servers = [serve(stack, "127.0.0.1", 0), serve(stack, "127.0.0.1", 0, signed_by=LOCAL_KEY_PAIR)]
        for server in servers:
            threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield DocServers(*(f"http://127.0.0.1:{server.server_address[1]}" for server in servers))
        finally:
            for server in servers:
                server.shutdown()
                server.server_close()
