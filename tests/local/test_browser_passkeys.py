"""Passkeys in a real browser: Chromium (Debian's, driven by Playwright) with a virtual authenticator from the
DevTools WebAuthn domain registers a passkey through the demo on the local server, as `make dev` serves it
(http://localhost:PORT, RP ID localhost), and signs in with it; the sign-in the page showed as curl, sent again,
is refused."""

import json
import os
import shutil
import socket
import threading
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import pytest

from devserver.server import serve
from devserver.stack import LocalCloud

KEY = "browser-passkey-key"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def base_url():
    port = free_port()
    stack = LocalCloud()
    stack.serve_passkeys_at(port)  # as make dev does, before the functions start
    with stack:
        server = serve(stack, "127.0.0.1", port, api_key=KEY)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        yield f"http://localhost:{port}"
        server.shutdown()
        server.server_close()


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    executable = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not executable:
        pytest.fail("no Chromium: `make test` installs Debian's package, or set CHROMIUM=/path/to/chrome")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--headless", "--no-sandbox"])
        page = browser.new_page()
        left: list[str] = []

        def offline(route):
            if urlsplit(route.request.url).hostname in ("localhost", "127.0.0.1"):
                route.continue_()
            else:
                left.append(route.request.url)
                route.abort()

        page.route("**/*", offline)
        yield page
        browser.close()
        assert left == [], "the page asked for something beyond this machine"


def virtual_authenticator(page) -> None:
    devtools = page.context.new_cdp_session(page)
    devtools.send("WebAuthn.enable")
    options = {
        "protocol": "ctap2",
        "transport": "internal",
        "hasResidentKey": True,
        "hasUserVerification": True,
        "isUserVerified": True,
        "automaticPresenceSimulation": True,
    }
    devtools.send("WebAuthn.addVirtualAuthenticator", {"options": options})


def shown_body(page, where: str) -> dict:
    """The JSON body of the curl command the page shows."""
    command = page.locator(where).inner_text()
    return json.loads(command.split(" -d '", 1)[1].rsplit("'", 1)[0].replace("'\\''", "'"))


def test_the_demo_adds_a_passkey_and_signs_in_with_it(page, base_url):
    virtual_authenticator(page)
    page.goto(base_url + "/")
    page.fill("#subject", "passkey-user-1")
    # Add a passkey: generate's options to the authenticator, its answer registered
    page.click("#passkey-add")
    result = page.locator("#passkey-result[data-valid]")
    result.wait_for()
    assert result.get_attribute("data-valid") == "true", result.inner_text()
    registered = shown_body(page, "#passkey-request")
    assert registered["action"] == "register" and registered["challenge_token"].startswith("wc1.")
    assert '"action":"generate"' in page.locator("#passkey-options-request").inner_text()
    # Sign in with it
    page.evaluate("document.getElementById('passkey-result').removeAttribute('data-valid')")
    page.click("#passkey-sign-in")
    result.wait_for()
    assert result.get_attribute("data-valid") == "true", result.inner_text()
    assert result.inner_text().startswith("Signed in with a passkey")
    # The same sign-in, sent again as the page showed it, is refused: its challenge was used
    signed_in = shown_body(page, "#passkey-request")
    assert signed_in["action"] == "verify" and KEY not in page.locator("#passkey-request").inner_text()
    request = urllib.request.Request(
        base_url + "/otp",
        data=json.dumps(signed_in).encode(),
        headers={"Content-Type": "application/json", "x-api-key": KEY},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = json.load(response)
    assert answer == {"type": "passkey", "valid": False, "credential_id": None, "reason": "already_used"}
    # and another subject's challenge does not open it
    other = dict(signed_in, subject="someone-else")
    request = urllib.request.Request(
        base_url + "/otp",
        data=json.dumps(other).encode(),
        headers={"Content-Type": "application/json", "x-api-key": KEY},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 400
