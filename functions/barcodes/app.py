"""GET/POST /barcodes: QR, Aztec and Data Matrix images in S3 behind presigned URLs."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from otp_api import barcode_service
from otp_api.http import create_app, json_response, parse
from otp_api.models import barcode_request
from otp_api.observability import logger, metrics
from otp_api.params import request_params
from otp_api.settings import get_settings

get_settings()  # fail the cold start on a misconfiguration, not the first request
app = create_app()


@app.get("/barcodes", summary="Redirect to a barcode image, so the URL works in <img src>")
def barcode_redirect() -> Response:
    image = barcode_service.create(parse(barcode_request, request_params(app.current_event)))
    return json_response(302, {"url": image.url}, {"Location": image.url})


@app.post("/barcodes", summary="Render a barcode image and return a presigned URL to it")
def barcode_json() -> Response:
    return json_response(200, barcode_service.create(parse(barcode_request, request_params(app.current_event))))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
