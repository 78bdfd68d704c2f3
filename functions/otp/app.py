"""POST /otp: generate a TOTP secret with its QR code, or verify a code."""

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from otp_api import at_init, aws, enrolment, verification
from otp_api.http import create_app, documented, json_response, parse
from otp_api.models import BODY_ONLY, CodesResponse, GenerateRequest, GenerateResponse, OtpRequest, VerifyResponse
from otp_api.observability import logger, metrics
from otp_api.params import request_params
from otp_api.settings import get_settings, get_verify_settings

# fail the cold start on a misconfiguration, not the first request; then what the first requests need
get_verify_settings()
get_settings()
at_init.otp_function()
app = create_app()


@app.post(
    "/otp",
    summary="Generate a TOTP secret with its QR code, or verify a code",
    responses=documented(
        200,
        "The new secret; the verdict on a code; or, without a code, the codes around now",
        GenerateResponse | VerifyResponse | CodesResponse,
        errors={429: "The key is locked out after too many failures; Retry-After says when to try again"},
    ),
)
def otp():  # no return annotation: Powertools would try to document `Response` itself
    request = parse(OtpRequest, request_params(app.current_event, body_only=BODY_ONLY))
    if isinstance(request, GenerateRequest):
        return json_response(200, enrolment.generate(request))
    return json_response(200, verification.verify(request))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics(capture_cold_start_metric=True)
@aws.within_remaining_time
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
