"""End to end over HTTP, against the local server or a deployed stack (see conftest.py): enrol, scan, verify,
replay, lockout, barcodes, the key and CORS, each through the API's front door."""

import base64
import secrets
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from e2e.conftest import authorised
from support import decode_image, independent_code

SYMBOLOGIES = ["qr_code", "aztec_code", "data_matrix"]
NO_ROUTE = {False: "no_such_route", True: "no_such_route_or_unsigned"}  # template.yaml, by ApiAuth=iam or not


def generate(api, label: str = "e2e"):
    reply = api("POST", "/otp", {"type": "time_based", "action": "generate", "label": label, "issuer": "otp-api e2e"})
    assert reply.status == 200, reply
    return reply.json()


def verify(api, secret: str, code: str):
    return api("POST", "/otp", {"type": "time_based", "action": "verify", "secret": secret, "code": code})


def wrong_code(secret: str) -> str:
    """A code that no step within two minutes of now would accept."""
    now = time.time()
    near = {independent_code(secret, now + offset) for offset in range(-120, 121, 30)}
    return next(code for code in (f"{secrets.randbelow(10**6):06d}" for _ in range(100)) if code not in near)


def test_enrol_scan_the_qr_code_and_verify_a_code(api, http):
    # Given a new enrolment
    made = generate(api)
    # When the QR code is downloaded from its presigned URL (no API key: it goes to S3) and decoded
    image = http("GET", made["qrcode_url"])
    assert image.status == 200 and image.headers["Content-Type"] == "image/png", image
    otp_url = decode_image(image.body)
    holds_the_uri = otp_url == made["otp_url"]  # compared apart: a failed assertion would print both secrets
    assert holds_the_uri
    # Then a code from an independent TOTP implementation, from the decoded secret, verifies
    secret = parse_qs(urlsplit(otp_url).query)["secret"][0]
    reply = verify(api, secret, independent_code(secret, time.time()))
    assert reply.status == 200 and reply.headers["Cache-Control"] == "no-store"
    assert reply.json()["valid"] is True


def test_a_code_is_accepted_once(api, target):
    secret = generate(api)["secret"]
    code = independent_code(secret, time.time())
    assert verify(api, secret, code).json()["valid"] is True
    again = verify(api, secret, code).json()
    if target.replay_protection:
        assert (again["valid"], again["reason"]) == (False, "already_used")
    else:
        assert again["valid"] is True


def test_a_sealed_secret_with_an_inline_qr_code(api, target):
    if not target.sealed_secrets:
        pytest.skip("sealed secrets are off on this API (SealedSecrets=false)")
    # Given an enrolment whose QR code comes inline (never stored) and whose key comes sealed
    reply = api(
        "POST",
        "/otp",
        {"type": "time_based", "action": "generate", "label": "sealed e2e", "seal": True, "qrcode": "inline"},
    )
    assert reply.status == 200, reply
    made = reply.json()
    assert "qrcode_url" not in made
    png = base64.b64decode(made["qrcode_data_uri"].removeprefix("data:image/png;base64,"))
    holds_the_uri = decode_image(png) == made["otp_url"]
    assert holds_the_uri
    # When the app verifies with the sealed secret alone, then the code is accepted once, whichever form names it
    code = independent_code(made["secret"], time.time())
    checked = api(
        "POST", "/otp", {"type": "time_based", "action": "verify", "sealed_secret": made["sealed_secret"], "code": code}
    ).json()
    assert checked["valid"] is True and "secret" not in checked
    again = api("POST", "/otp", {"type": "time_based", "action": "verify", "otp_url": made["otp_url"], "code": code})
    assert again.json()["reason"] == ("already_used" if target.replay_protection else None)


def test_a_guesser_is_locked_out_with_retry_after(api, target):
    if not target.max_failed_attempts:
        pytest.skip("lockout is off on this API (MaxFailedAttempts=0)")
    secret = generate(api)["secret"]
    for _ in range(target.max_failed_attempts):
        reply = verify(api, secret, wrong_code(secret))
        assert reply.status == 200 and reply.json()["reason"] == "no_match", reply
    # even the right code is refused now, and the caller is told when to come back
    locked = verify(api, secret, independent_code(secret, time.time()))
    assert locked.status == 429, locked
    assert locked.json()["error"] == "too_many_attempts"
    assert 0 < int(locked.headers["Retry-After"]) <= target.lockout_seconds + 1  # whole seconds, rounded up


def test_recovery_codes_from_generation_to_lockout_and_unlock(api, target):
    if not target.sealed_secrets:
        pytest.skip("recovery codes need the sealing key (SealedSecrets=false)")
    import concurrent.futures

    def new_set() -> dict:
        made = api("POST", "/otp", {"type": "recovery_codes", "action": "generate"}).json()
        assert made["count"] == 10 and len(set(made["codes"])) == 10
        return made

    def redeem(code: str, sealed_codes: str | None = None):
        body = {"type": "recovery_codes", "action": "verify", "sealed_codes": sealed_codes or sealed, "code": code}
        return api("POST", "/otp", body)

    # eight concurrent redemptions of one code: exactly one accepted (the seven replays count as failures)
    raced = new_set()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda code: redeem(code, raced["sealed_codes"]), [raced["codes"][0]] * 8))
    assert sum(1 for reply in replies if reply.status == 200 and reply.json()["valid"]) == 1
    made = new_set()
    sealed = made["sealed_codes"]
    assert redeem(made["codes"][1]).json() == {"type": "recovery_codes", "valid": True, "remaining": 9, "reason": None}
    assert redeem(made["codes"][1]).json()["reason"] == "already_used"
    tampered = api(
        "POST", "/otp", {"type": "recovery_codes", "action": "verify", "sealed_codes": sealed[:-3], "code": "x"}
    )
    assert (tampered.status, tampered.json()["parameter"]) == (400, "sealed_codes"), tampered
    if not target.max_failed_attempts:
        return
    while redeem("ZZZZ-ZZZZ-ZZ").status == 200:  # the replays above were failures too
        pass
    assert redeem(made["codes"][2]).status == 429  # even a right code
    unlocked = api("POST", "/otp", {"type": "recovery_codes", "action": "unlock", "sealed_codes": sealed})
    assert unlocked.json() == {"unlocked": True}
    assert redeem(made["codes"][2]).json()["valid"] is True


def test_an_hotp_token_from_enrolment_to_resync(api, target, http):
    if not target.replay_protection:
        pytest.skip("counter_based needs the verify state (ReplayProtection=false)")
    from support import independent_hotp

    made = api("POST", "/otp", {"type": "counter_based", "action": "generate", "label": "e2e fob"}).json()
    assert made["otp_url"].startswith("otpauth://hotp/") and made["counter"] == 0
    assert decode_image(http("GET", made["qrcode_url"]).body) == made["otp_url"]
    secret = made["secret"]

    def check(counter: int, action: str = "verify", **extra):
        body = {"type": "hotp", "action": action, "secret": secret, "code": independent_hotp(secret, counter), **extra}
        return api("POST", "/otp", body).json()

    assert check(0)["counter"] == 0
    assert check(0)["valid"] is False
    assert check(3)["counter"] == 3
    assert check(60)["valid"] is False
    resynced = check(60, "resync", next_code=independent_hotp(secret, 61))
    assert (resynced["valid"], resynced["counter"]) == (True, 61)
    assert check(62)["counter"] == 62


def test_an_imported_secret_is_sealed_and_a_locked_key_unlocked(api, target):
    if not target.sealed_secrets:
        pytest.skip("seal needs the sealing key (SealedSecrets=false)")
    secret = generate(api)["secret"]
    for given in ({"secret": secret}, {"otp_url": f"otpauth://totp/Imported:e2e?secret={secret}&issuer=Imported"}):
        imported = api("POST", "/otp", {"type": "time_based", "action": "seal", **given}).json()
        assert "secret" not in imported and imported["sealed_secret"].startswith("s1.")
    code = independent_code(secret, time.time())
    checked = {"type": "time_based", "action": "verify", "sealed_secret": imported["sealed_secret"], "code": code}
    assert api("POST", "/otp", checked).json()["valid"] is True
    if not target.max_failed_attempts:
        return
    while verify(api, secret, wrong_code(secret)).status == 200:
        pass
    assert api("POST", "/otp", {"type": "time_based", "action": "unlock", "secret": secret}).json() == {
        "unlocked": True
    }
    assert verify(api, secret, wrong_code(secret)).status == 200


def test_a_re_enrolled_user_retires_the_old_key_and_the_old_sheet(api, target):
    # Given a user who re-enrolled (the old key may sit on a stolen phone) and got a new recovery sheet
    if not target.replay_protection:
        pytest.skip("revoke keeps its fact in the verify state (ReplayProtection=false)")
    old, new = generate(api, "old phone")["secret"], generate(api, "new phone")["secret"]
    assert verify(api, new, independent_code(new, time.time())).json()["valid"] is True  # the new one confirmed
    # When the app revokes the old key, by the same parameters verify takes
    revoke = {"type": "time_based", "action": "revoke", "secret": old}
    assert api("POST", "/otp", revoke).json() == {"revoked": True}
    assert api("POST", "/otp", revoke).json() == {"revoked": False}  # it was already
    # Then none of its codes verifies again, and the new key is untouched
    refused = verify(api, old, independent_code(old, time.time())).json()
    assert (refused["valid"], refused["reason"]) == (False, "revoked")
    if target.sealed_secrets:
        sheet = api("POST", "/otp", {"type": "recovery_codes", "action": "generate", "count": 2}).json()
        codes = {"type": "recovery_codes", "sealed_codes": sheet["sealed_codes"]}
        assert api("POST", "/otp", {**codes, "action": "revoke"}).json() == {"revoked": True}
        refused = api("POST", "/otp", {**codes, "action": "verify", "code": sheet["codes"][0]}).json()
        assert (refused["valid"], refused["reason"]) == (False, "revoked")


@pytest.mark.parametrize("symbology", SYMBOLOGIES)
def test_barcode_get_redirects_to_the_image(api, http, symbology):
    data = f"e2e {symbology} {secrets.token_hex(4)}"  # new each run: the first request of its kind renders
    reply = api("GET", f"/barcodes?type={symbology}&data={data.replace(' ', '%20')}&scale=3")
    assert reply.status == 302, reply
    image = http("GET", reply.headers["Location"])
    assert image.status == 200 and image.headers["Content-Type"] == "image/png", image
    assert decode_image(image.body) == data


@pytest.mark.parametrize("symbology", SYMBOLOGIES)
def test_barcode_post_answers_json_with_the_url(api, http, symbology):
    data = f"posted {symbology} {secrets.token_hex(4)}"
    reply = api("POST", "/barcodes", {"type": symbology, "data": data, "scale": 4})
    assert reply.status == 200, reply
    body = reply.json()
    assert (body["type"], body["format"], body["scale"]) == (symbology, "png", 4)
    assert decode_image(http("GET", body["url"]).body) == data


def test_requests_without_the_key_are_refused(target, http):
    if not target.api_key:
        pytest.skip("this API requires no key (ApiAuth is not api_key)")
    body = {"type": "time_based", "action": "generate", "label": "no key"}
    # template.yaml's INVALID_API_KEY gateway response: the API's error shape, naming x-api-key
    for reply in (
        http("POST", f"{target.url}/otp", body),
        http("POST", f"{target.url}/otp", body, {"x-api-key": "not-the-key"}),
        http("GET", f"{target.url}/barcodes?type=qr_code&data=no%20key"),
    ):
        assert (reply.status, reply.json()["error"], reply.json()["parameter"]) == (403, "invalid_api_key", "x-api-key")


def test_unsigned_and_wrongly_signed_requests_are_refused(target, http):
    if not target.key_pair:
        pytest.skip("this API takes no signatures (ApiAuth is not iam)")
    from dataclasses import replace

    body = {"type": "time_based", "action": "generate", "label": "unsigned"}
    unsigned = http("POST", f"{target.url}/otp", body)
    assert (unsigned.status, unsigned.json()["error"]) == (403, "no_such_route_or_unsigned")
    assert "not signed with SigV4" in unsigned.json()["message"]
    wrong = replace(target, key_pair=replace(target.key_pair, secret_key="not-the-secret"))
    forged = http("POST", f"{target.url}/otp", body, authorised(wrong, "POST", "/otp", body))
    assert forged.status == 403 and "signature" in forged.json()["message"]
    # a signature over another body does not cover this one
    signed_for_other = authorised(target, "POST", "/otp", {**body, "label": "other"})
    assert http("POST", f"{target.url}/otp", body, signed_for_other).status == 403


def test_cors_preflight_as_configured(target, http):
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-api-key"}
    stranger = http("OPTIONS", f"{target.url}/otp", headers={"Origin": "https://stranger.example", **preflight})
    assert stranger.headers.get("Access-Control-Allow-Origin") is None, stranger
    if not target.cors_origins:
        # CORS off: no preflight route at all, so nothing runs without a key
        assert (stranger.status, stranger.json()["error"]) == (403, NO_ROUTE[bool(target.key_pair)])
        return
    origin = target.cors_origins[0]
    allowed = http("OPTIONS", f"{target.url}/otp", headers={"Origin": origin, **preflight})
    assert allowed.status in (200, 204), allowed
    assert allowed.headers["Access-Control-Allow-Origin"] == origin
    assert "x-api-key" in allowed.headers["Access-Control-Allow-Headers"].lower()


def test_routes_and_methods_the_api_does_not_have(api, target):
    # template.yaml's MISSING_AUTHENTICATION_TOKEN gateway response, byte for byte (the local server gives the same):
    # the API's error shape, naming the routes it has
    from tooling.template import gateway_responses

    expected = gateway_responses(iam=bool(target.key_pair))["MISSING_AUTHENTICATION_TOKEN"]
    for method, path in (("GET", "/nothing-here"), ("GET", "/otp"), ("PUT", "/otp"), ("DELETE", "/barcodes")):
        reply = api(method, path)
        assert (reply.status, reply.body) == (403, expected), (method, path)
        assert reply.headers["Cache-Control"] == "no-store", (method, path)  # the gateway response's own header
        assert "POST /otp" in reply.json()["message"]


def test_a_malformed_request_gets_a_json_error(api):
    reply = api("POST", "/otp", b'{"type": "time_based",')
    assert reply.status == 400 and reply.headers["Content-Type"] == "application/json"
    assert reply.json()["error"] == "malformed_request"
    reply = api("GET", "/barcodes?type=qr_code&data=abcd&scale=11")
    assert (reply.status, reply.json()["parameter"]) == (400, "scale")


# --- the local server only: API Gateway answers these itself ---------------------------------------------------


@pytest.fixture
def local(target):
    if not target.local:
        pytest.skip("the local server's own pages and routing")


def test_local_pages_demo_swagger_and_openapi_document(api, local):
    import json

    assert api("GET", "/").status == 200 and b'id="generate"' in api("GET", "/").body
    reply = api("GET", "/swagger")
    assert reply.status == 200 and b"SwaggerUIBundle" in reply.body and b"unpkg" not in reply.body
    assert api("GET", "/swagger-ui/swagger-ui-bundle.js").status == 200
    assert api("GET", "/swagger-ui/../../etc/passwd").status == 403  # only Swagger UI's own two files
    reply = api("GET", "/openapi.json")
    document = json.loads(reply.body)
    assert reply.status == 200 and set(document["paths"]) == {"/otp", "/barcodes"}
    scheme = document["components"]["securitySchemes"]["apiKey"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "x-api-key")


def test_a_kept_alive_connection_answers_without_a_stall(target, local):
    # The local server once held each response ~40 ms on a reused connection (Nagle against delayed ACK): anyone's
    # measurement through `make dev` would have timed the server, not the function. Ten requests on one
    # connection; a stall would put every one of them past 40 ms.
    import http.client
    import statistics
    from urllib.parse import urlsplit

    url = urlsplit(target.url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    body = '{"type": "time_based", "action": "verify", "secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"}'
    headers = {"Content-Type": "application/json", **authorised(target, "POST", "/otp", body.encode())}
    timings = []
    try:
        for _ in range(10):
            start = time.perf_counter()
            connection.request("POST", "/otp", body, headers)
            response = connection.getresponse()
            response.read()
            timings.append(time.perf_counter() - start)
            assert response.status == 200
    finally:
        connection.close()
    assert statistics.median(timings[1:]) < 0.035, [round(t * 1000, 1) for t in timings]


@pytest.mark.parametrize(
    ("host", "answered"),
    [
        ("evil.example:{port}", False),
        ("127.0.0.1.nip.io:{port}", False),
        ("127.0.0.1:1", False),
        ("localhost:{port}", True),
        ("[::1]:{port}", True),
    ],
)
def test_the_local_server_answers_only_its_own_host_names(target, local, host, answered):
    # A DNS-rebinding page (its name resolving to 127.0.0.1) sends its own Host: neither the pages, which carry
    # the local key, nor the API answer it.
    import http.client
    from urllib.parse import urlsplit

    url = urlsplit(target.url)
    for method, path in (("GET", "/"), ("POST", "/otp")):
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        headers = {"Host": host.format(port=url.port), "Content-Type": "application/json"}
        connection.request(method, path, b"{}", headers)
        response = connection.getresponse()
        body = response.read()
        connection.close()
        assert (response.status != 421) is answered, (method, path)
        if not answered:
            assert b"API_KEY" not in body and (target.api_key or "no key").encode() not in body
