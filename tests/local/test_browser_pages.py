"""The local pages in a real browser with no internet: the enrolment demo from generate to a verified code, and
Swagger UI with its operations, Authorize, and "Try it out" on POST /otp. Debian's Chromium, driven by Playwright
(no browser download); every request that would leave 127.0.0.1 is refused, so nothing comes from a CDN.

`make screenshots` runs these with SCREENSHOTS_DIR=docs to refresh the README's pictures."""

import json
import os
import shutil
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from support import decode_image, independent_code

from devserver.server import serve
from devserver.stack import LocalCloud

KEY = "browser-test-key"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def base_url():
    with LocalCloud() as stack:  # with a key, as the deployed API: the pages must send it
        server = serve(stack, "127.0.0.1", 0, api_key=KEY)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        yield f"http://127.0.0.1:{server.server_address[1]}"
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    executable = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not executable:
        pytest.fail("no Chromium: `make test` installs Debian's package, or set CHROMIUM=/path/to/chrome")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 1400})
    page = context.new_page()
    left: list[str] = []

    def offline(route):  # the machine may have no internet: make sure the pages never need it
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            left.append(route.request.url)
            route.abort()

    page.route("**/*", offline)
    yield page
    context.close()
    assert left == [], "the page asked for something beyond this machine"


def screenshot(page, name: str) -> None:
    """For `make screenshots`: the page as shown, in a 64-colour palette (a third of the bytes, text and QR sharp)."""
    folder = os.environ.get("SCREENSHOTS_DIR")
    if folder:
        import io

        from PIL import Image

        image = Image.open(io.BytesIO(page.screenshot(full_page=True))).convert("RGB")
        image.quantize(colors=64).save(Path(folder) / name, optimize=True)


def test_the_demo_goes_from_enrolment_to_a_verified_code(page, base_url):
    page.goto(base_url + "/")
    # Given a new enrolment, whose QR code the page shows
    page.fill("#label", "browser@example.com")
    page.click("#generate")
    page.wait_for_function("document.getElementById('qr').complete && document.getElementById('qr').naturalWidth > 0")
    # When the QR code as shown is read and a code is computed from it independently
    otp_url = decode_image(page.locator("#qr").screenshot())
    assert otp_url == page.locator("#otp-url").inner_text()
    secret = parse_qs(urlsplit(otp_url).query)["secret"][0]
    page.fill("#code", independent_code(secret, time.time()))
    page.click("#verify")
    # Then the code is valid, and the request the page sent is shown as curl, without the key
    result = page.locator("#result[data-valid]")
    result.wait_for()
    assert result.get_attribute("data-valid") == "true", result.inner_text()
    request = page.locator("#verify-request").inner_text()
    assert "curl" in request and '"action":"verify"' in request and KEY not in request
    # the app sent what it stores, the sealed secret, not the secret
    sealed = page.locator("#sealed").inner_text()
    assert sealed.startswith("s1.") and f'"sealed_secret":"{sealed}"' in request and secret not in request
    screenshot(page, "demo.png")
    # And the same code again is refused, in words
    page.click("#verify")
    page.wait_for_function("document.getElementById('result').textContent.startsWith('Already used')")
    assert result.get_attribute("data-valid") == "false"


def test_the_demo_shows_recovery_codes_once_and_takes_one_on_the_verify_step(page, base_url):
    page.goto(base_url + "/")
    page.click("#generate")
    page.locator("#recovery-codes li").first.wait_for()
    codes = page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10 and len(set(codes)) == 10
    page.fill("#code", codes[3].lower())
    page.click("#use-recovery")
    result = page.locator("#result[data-valid]")
    result.wait_for()
    assert result.get_attribute("data-valid") == "true" and "9 left" in result.inner_text(), result.inner_text()
    page.click("#use-recovery")
    page.wait_for_function("document.getElementById('result').textContent.startsWith('Already used')")
    request = page.locator("#verify-request").inner_text()
    assert '"type":"recovery_codes"' in request and KEY not in request


def test_the_curl_text_the_demo_shows_runs_in_a_shell_whatever_the_label(page, base_url):
    import json
    import subprocess

    page.goto(base_url + "/")
    label = 'O\'Brien "$HOME" `x`'  # quotes, a variable and backticks: the shell must see them as text
    page.fill("#label", label)
    page.click("#generate")
    page.wait_for_function("document.getElementById('generate-request').textContent.includes('curl')")
    shown = page.locator("#generate-request").inner_text()
    result = subprocess.run(
        ["bash", "-c", shown], env={**os.environ, "OTP_API_KEY": KEY}, capture_output=True, text=True, timeout=60
    )
    assert json.loads(result.stdout)["label"] == label, result.stdout + result.stderr


def test_swagger_ui_renders_offline_with_authorize_and_try_it_out(page, base_url):
    page.goto(base_url + "/swagger")
    page.locator(".opblock-summary-path").first.wait_for()
    paths = set(page.locator(".opblock-summary-path").all_inner_texts())
    assert {"/otp", "/barcodes"} <= {path.strip() for path in paths}
    assert page.locator("button.authorize").is_visible()
    screenshot(page, "swagger.png")
    # "Try it out" on POST /otp with the documented example, the local key already authorised
    operation = page.locator("#operations-default-post_otp")
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table .response .response-col_status").first
    status.wait_for()
    assert status.inner_text().strip() == "200"


def documented_examples(path: str) -> dict:
    """scripts/openapi.py's examples of `path`: each with the status it answers on a fresh local server."""
    import importlib.util

    from support import ROOT

    spec = importlib.util.spec_from_file_location("openapi_script", ROOT / "scripts" / "openapi.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script.EXAMPLES_OF[path]


def execute(operation) -> tuple[str, str]:
    """Swagger UI's Execute on an operation already in "Try it out": the status and body it shows."""
    operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table .response .response-col_status").first
    status.wait_for()
    answer = (
        status.inner_text().strip(),
        operation.locator(".live-responses-table .response .response-col_description").first.inner_text(),
    )
    operation.locator("button.btn-clear").click()
    status.wait_for(state="detached")
    return answer


@pytest.mark.parametrize("method", ["post_otp", "post_barcodes"])
def test_every_swagger_example_executes_as_documented(page, base_url, method):
    # Given Swagger UI on a fresh local server, the key authorised, an operation in "Try it out"
    examples = documented_examples("/" + method.split("_", 1)[1])
    page.goto(base_url + "/swagger")
    operation = page.locator(f"#operations-default-{method}")
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    select = operation.locator(".opblock-section-request-body select.examples-select-element")
    assert select.locator("option").all_inner_texts() == list(examples)
    answers = {}
    for name, example in examples.items():
        # When each example is chosen and executed as it stands
        select.select_option(name)
        assert json.loads(operation.locator("textarea.body-param__text").input_value()) == example.value
        answers[name] = execute(operation)
    # Then each answers its documented status (2xx but for the two that need a sealed set of one's own)
    assert {name: status for name, (status, _) in answers.items()} == {
        name: str(example.status) for name, example in examples.items()
    }, answers
    if method == "post_otp":  # the RFC's codes are real: HOTP's verify and resync succeed, TOTP's listing lists
        for name in ("hotp verify", "hotp resync"):
            assert '"valid": true' in answers[name][1], answers[name]
        assert '"otp_codes"' in answers["totp verify: the codes around now"][1]


def test_get_barcodes_executes_in_swagger_ui_with_its_example_parameters(page, base_url):
    page.goto(base_url + "/swagger")
    operation = page.locator("#operations-default-get_barcodes")
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    # Swagger UI follows the redirect, as browsers do: the image, a documented 200, is what it shows
    status, _ = execute(operation)
    assert status == "200"
    operation.locator("button.execute").click()
    operation.locator(".live-responses-table img").wait_for()
    assert "Undocumented" not in operation.locator(".responses-wrapper").inner_text()
