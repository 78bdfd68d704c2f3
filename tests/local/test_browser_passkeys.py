"""Passkeys in a real browser: Chromium (Debian's, driven by Playwright) with a virtual authenticator from the
DevTools WebAuthn domain, against the local server as `make dev` serves it (http://localhost:PORT, RP ID
localhost).

Through the demo: it registers a passkey and signs in with it; the sign-in the page showed as curl, sent again, is
refused. Through the API: a script of the test's own, run in a page the local server serves, passes the options the
API returned to `PublicKeyCredential.parseCreationOptionsFromJSON` / `parseRequestOptionsFromJSON` and
`navigator.credentials.create` / `get`, and sends `credential.toJSON()` back to POST /otp: a passkey registers and
signs in; and the same assertion replayed, a challenge_token of another subject, an assertion made on another
origin (http://localhost:OTHERPORT: RP ID localhost is valid there, but it is not in PasskeyOrigins), a clone (the
same credential, read with WebAuthn.getCredentials, in a second authenticator with a lower sign count) and a
revoked credential are each refused as docs/api.md says.

An expired challenge is left to the handler tests (tests/handler/test_passkey.py moves the clock past its 5
minutes): a browser cannot make one without waiting them out.
"""

import base64
import json
import os
import shutil
import socket
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from devserver.server import serve
from devserver.stack import LocalCloud

KEY = "browser-passkey-key"
AUTHENTICATOR = {  # a platform authenticator whose user is present and verified, with no one to click
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}
# In a page: the options the API returned to the browser's authenticator, and its answer as JSON
CEREMONY = """async ([ceremony, options]) => {
  const publicKey = ceremony === "create"
    ? PublicKeyCredential.parseCreationOptionsFromJSON(options)
    : PublicKeyCredential.parseRequestOptionsFromJSON(options);
  return (await navigator.credentials[ceremony]({publicKey})).toJSON();
}"""
# In a page the local server serves: a request to POST /otp, answered with its status and body
POST = """async ([key, body]) => {
  const response = await fetch("/otp", {method: "POST", body: JSON.stringify(body),
                                        headers: {"Content-Type": "application/json", "x-api-key": key}});
  return [response.status, await response.json()];
}"""


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


@pytest.fixture(scope="module")
def other_origin():
    """An empty page at another localhost port: a site where RP ID localhost is valid, not one of PasskeyOrigins."""

    class Empty(BaseHTTPRequestHandler):
        def do_GET(self):
            page = b"<!doctype html><title>another origin</title>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, format, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Empty)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://localhost:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    executable = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not executable:
        pytest.fail("no Chromium: `make test` installs Debian's package, or set CHROMIUM=/path/to/chrome")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--headless", "--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A page of its own (a fresh context) in the module's browser, which asks for nothing beyond this machine."""
    context = browser.new_context()
    left: list[str] = []

    def offline(route):
        if urlsplit(route.request.url).hostname in ("localhost", "127.0.0.1"):
            route.continue_()
        else:
            left.append(route.request.url)
            route.abort()

    context.route("**/*", offline)
    yield context.new_page()
    context.close()
    assert left == [], "the page asked for something beyond this machine"


class Authenticator:
    """A virtual authenticator (DevTools WebAuthn domain) of one page, its user present and verified."""

    def __init__(self, page) -> None:
        self.devtools = page.context.new_cdp_session(page)
        self.devtools.send("WebAuthn.enable")
        added = self.devtools.send("WebAuthn.addVirtualAuthenticator", {"options": AUTHENTICATOR})
        self.id = added["authenticatorId"]

    def credentials(self) -> list[dict]:
        """What it holds, private keys and sign counts included."""
        return self.devtools.send("WebAuthn.getCredentials", {"authenticatorId": self.id})["credentials"]

    def add(self, credential: dict) -> None:
        self.devtools.send("WebAuthn.addCredential", {"authenticatorId": self.id, "credential": credential})


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def client_data(credential: dict) -> dict:
    """The client data's members WebAuthn defines. Chromium adds a member of its own at random
    ("other_keys_can_be_added_here"), so that nobody compares clientDataJSON against a template: read by name."""
    data = json.loads(unb64url(credential["response"]["clientDataJSON"]))
    return {name: data[name] for name in ("type", "challenge", "origin", "crossOrigin", "topOrigin") if name in data}


def sign_count(credential: dict) -> int:
    """The count the authenticator reported: authenticatorData's bytes 33 to 36 (after the RP ID hash, flags)."""
    return int.from_bytes(unb64url(credential["response"]["authenticatorData"])[33:37], "big")


class Site:
    """The relying party: a page the local server serves (the demo's, with a script of the test's own run in it)
    asks the API for options, has the browser's authenticator answer them, and sends the answer to POST /otp."""

    def __init__(self, page, base_url: str) -> None:
        self.page = page
        page.goto(base_url + "/")

    def post(self, **body) -> tuple[int, dict]:
        status, answer = self.page.evaluate(POST, [KEY, {"type": "passkey", **body}])
        return status, answer

    def options(self, **body) -> dict:
        status, answer = self.post(**body)
        assert status == 200, answer
        return answer

    def register(self, subject: str) -> tuple[str, dict]:
        """A new passkey of `subject`: its sealed credential, and the browser's answer."""
        made = self.options(action="generate", subject=subject, label=f"{subject}@example.com")
        credential = self.page.evaluate(CEREMONY, ["create", made["options"]])
        status, answer = self.post(
            action="register", subject=subject, challenge_token=made["challenge_token"], credential=credential
        )
        assert status == 200 and answer["valid"] and answer["credential_id"] == credential["id"], answer
        return answer["sealed_credential"], credential

    def sign_in(self, subject: str, sealed: str, signer=None) -> tuple[int, dict, dict]:
        """A challenge for `sealed`, signed in the page `signer` (this one when None), sent to verify: its status
        and answer, and the request (to send again)."""
        asked = self.options(action="challenge", subject=subject, sealed_credentials=[sealed])
        credential = (signer or self.page).evaluate(CEREMONY, ["get", asked["options"]])
        request = dict(
            action="verify",
            subject=subject,
            challenge_token=asked["challenge_token"],
            sealed_credentials=[sealed],
            credential=credential,
        )
        status, answer = self.post(**request)
        return status, answer, request


def accepted(credential: dict) -> tuple[int, dict]:
    return 200, {"type": "passkey", "valid": True, "credential_id": credential["id"], "reason": None}


def refused(reason: str) -> tuple[int, dict]:
    return 200, {"type": "passkey", "valid": False, "credential_id": None, "reason": reason}


def shown_body(page, where: str) -> dict:
    """The JSON body of the curl command the page shows."""
    command = page.locator(where).inner_text()
    return json.loads(command.split(" -d '", 1)[1].rsplit("'", 1)[0].replace("'\\''", "'"))


def test_the_demo_adds_a_passkey_and_signs_in_with_it(page, base_url):
    Authenticator(page)
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


# --- through the API ----------------------------------------------------------------------------------------------


def test_a_passkey_registers_and_signs_in_again_and_again(page, base_url):
    Authenticator(page)
    site = Site(page, base_url)
    sealed, credential = site.register("api-alice")
    assert client_data(credential) | {"challenge": "…"} == {
        "type": "webauthn.create",
        "challenge": "…",
        "origin": base_url,
        "crossOrigin": False,
    }
    for _ in range(2):
        status, answer, request = site.sign_in("api-alice", sealed)
        assert (status, answer) == accepted(credential)
        assert client_data(request["credential"])["origin"] == base_url


def test_the_same_assertion_replayed_is_refused(page, base_url):
    Authenticator(page)
    site = Site(page, base_url)
    sealed, credential = site.register("api-bob")
    status, answer, request = site.sign_in("api-bob", sealed)
    assert (status, answer) == accepted(credential)
    assert site.post(**request) == refused("already_used")


def test_a_challenge_token_of_another_subject_is_refused(page, base_url):
    Authenticator(page)
    site = Site(page, base_url)
    sealed, credential = site.register("api-carol")
    # Mallory's challenge (for any passkey), signed by carol's authenticator: a good assertion of its challenge
    mallorys = site.options(action="challenge", subject="api-mallory")
    signed = page.evaluate(CEREMONY, ["get", mallorys["options"]])
    assert signed["id"] == credential["id"]
    assert client_data(signed)["challenge"] == mallorys["options"]["challenge"]
    # sent as carol's: the token is not hers
    status, answer = site.post(
        action="verify",
        subject="api-carol",
        challenge_token=mallorys["challenge_token"],
        sealed_credentials=[sealed],
        credential=signed,
    )
    assert (status, answer.get("parameter")) == (400, "challenge_token"), answer
    # sent as mallory's: the sealed credential is not hers
    status, answer = site.post(
        action="verify",
        subject="api-mallory",
        challenge_token=mallorys["challenge_token"],
        sealed_credentials=[sealed],
        credential=signed,
    )
    assert (status, answer.get("parameter")) == (400, "sealed_credentials"), answer


def test_an_assertion_made_on_another_origin_is_refused(page, base_url, other_origin):
    Authenticator(page)
    site = Site(page, base_url)
    sealed, credential = site.register("api-dave")
    # A page at another localhost port (a phishing page on this host, say) has the browser sign the site's
    # challenge: RP ID localhost is valid there, so the browser does; the API must refuse it
    asked = site.options(action="challenge", subject="api-dave", sealed_credentials=[sealed])
    page.goto(other_origin + "/")
    signed = page.evaluate(CEREMONY, ["get", asked["options"]])
    assert signed["id"] == credential["id"]
    assert client_data(signed) | {"challenge": "…"} == {
        "type": "webauthn.get",
        "challenge": "…",
        "origin": other_origin,
        "crossOrigin": False,
    }
    assert client_data(signed)["challenge"] == asked["options"]["challenge"]
    page.goto(base_url + "/")
    verify = dict(challenge_token=asked["challenge_token"], sealed_credentials=[sealed], credential=signed)
    assert site.post(action="verify", subject="api-dave", **verify) == refused("not_verified")
    # on the site itself, the passkey signs in
    status, answer, _ = site.sign_in("api-dave", sealed)
    assert (status, answer) == accepted(credential)


def test_a_clone_with_a_lower_sign_count_is_refused(page, base_url):
    original = Authenticator(page)
    site = Site(page, base_url)
    sealed, credential = site.register("api-erin")
    for _ in range(2):
        status, answer, request = site.sign_in("api-erin", sealed)
        assert (status, answer) == accepted(credential)
    (held,) = original.credentials()  # its private key, and the count it reached
    assert base64.b64decode(held["credentialId"]) == unb64url(credential["id"])
    assert held["signCount"] == sign_count(request["credential"])
    # The same credential in a second authenticator (another page's), its count set back: a clone. What it reports
    # is above the count at registration, below the one the API accepted last: the state refuses it
    clone = page.context.new_page()
    Authenticator(clone).add(held | {"signCount": held["signCount"] - 2})
    clone.goto(base_url + "/")
    status, answer, request = site.sign_in("api-erin", sealed, signer=clone)
    assert request["credential"]["id"] == credential["id"]
    assert sign_count(credential) < sign_count(request["credential"]) < held["signCount"]
    assert (status, answer) == refused("cloned")
    # the original, its count still the highest, signs in
    status, answer, _ = site.sign_in("api-erin", sealed)
    assert (status, answer) == accepted(credential)


def test_a_revoked_credential_is_refused(page, base_url):
    Authenticator(page)
    site = Site(page, base_url)
    sealed, credential = site.register("api-frank")
    status, answer, _ = site.sign_in("api-frank", sealed)
    assert (status, answer) == accepted(credential)
    assert site.post(action="revoke", subject="api-frank", sealed_credential=sealed) == (200, {"revoked": True})
    status, answer, _ = site.sign_in("api-frank", sealed)
    assert (status, answer) == refused("revoked")
    assert site.post(action="status", subject="api-frank", sealed_credential=sealed)[1]["revoked"] is True
