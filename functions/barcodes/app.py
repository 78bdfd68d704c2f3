"""GET/POST /barcodes: QR, Aztec and Data Matrix images in S3 behind presigned URLs."""

import gc

gc.disable()  # init makes what lives as long as the environment: nothing to collect until it is done (at_init.done)

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from otp_api import at_init, aws, barcodes
from otp_api.barcodes import RULES, BarcodeRequest, BarcodeResponse
from otp_api.http import create_app, documented, json_response, parse
from otp_api.observability import logger, metrics
from otp_api.params import request_params
from otp_api.settings import get_settings

# fail the cold start on a misconfiguration, not the first request; then what its requests need
get_settings()
at_init.barcodes_function()
app = create_app(RULES)


def _request() -> BarcodeRequest:
    return parse(BarcodeRequest, request_params(app.current_event, RULES, frozenset()), RULES)


@app.get(
    "/barcodes",
    summary="Redirect to a barcode image (usable in <img src> with PublicBarcodes=true)",
    responses=documented(302, "Found: `Location` is the presigned image URL"),
)
def barcode_redirect():  # (no return annotation, as in otp: Powertools documents the `responses`)
    image = barcodes.create(_request())
    return json_response(302, {"url": image.url}, {"Location": image.url})


@app.post(
    "/barcodes",
    summary="Render a barcode image and return a presigned URL to it",
    responses=documented(200, "The presigned image URL and the image's size", BarcodeResponse),
)
def barcode_json():
    return json_response(200, barcodes.create(_request()))


at_init.first_use(app, [BarcodeRequest], correlation_paths.API_GATEWAY_REST)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics(capture_cold_start_metric=True)
@aws.within_remaining_time
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)


at_init.done()
