"""ENABLE_SNAP_START (set by the template when SnapStart is on): the init phase creates the clients and loads the
rendering libraries, so the snapshot holds them; requests still work as usual afterwards."""

import importlib.util
import os
from unittest import mock

from support import BUCKET, ROOT, FakeContext, decode_image, event_with

from otp_api import image_bucket


def fresh_handler(function: str):
    spec = importlib.util.spec_from_file_location(f"{function}_warm", ROOT / "functions" / function / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.lambda_handler


def test_init_warms_up_and_generate_still_works(s3):
    from otp_api.settings import get_settings

    image_bucket._client.cache_clear()
    get_settings.cache_clear()
    try:
        with mock.patch.dict(os.environ, {"ENABLE_SNAP_START": "true"}):
            handler = fresh_handler("otp")
            assert image_bucket._client.cache_info().currsize == 1  # made at init, before any request
            barcodes = fresh_handler("barcodes")
    finally:
        get_settings.cache_clear()
    event = event_with("otp-generate", body={"type": "time_based", "action": "generate", "label": "warm"})
    import json

    response = handler(event, FakeContext())
    body = json.loads(response["body"])
    assert response["statusCode"] == 200
    key = body["qrcode_url"].split("?")[0].split(".amazonaws.com/", 1)[1]
    assert decode_image(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()) == body["otp_url"]
    posted = barcodes(event_with("barcodes-post", body={"type": "aztec_code", "data": "warm"}), FakeContext())
    assert posted["statusCode"] == 200
