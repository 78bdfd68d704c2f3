"""POST /otp: each kind of one-time password (time_based, counter_based, recovery_codes, passkey) and its actions,
from the registry in otp_api/kinds."""

import gc

gc.disable()  # init makes what lives as long as the environment: nothing to collect until it is done (at_init.done)

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from otp_api import at_init, aws, kinds
from otp_api.http import create_app, documented, json_response, parse
from otp_api.observability import logger, metrics
from otp_api.params import request_params
from otp_api.settings import get_settings, get_verify_settings

# fail the cold start on a misconfiguration, not the first request; then what the first requests need
get_verify_settings()
get_settings()
at_init.otp_function()
REGISTRY = kinds.REGISTRY  # the kinds this function serves, read once
app = create_app(REGISTRY.rules)


@app.post(
    "/otp",
    summary="TOTP and HOTP secrets and recovery codes: generate, verify, resync, seal (import), unlock and revoke",
    responses=documented(
        200,
        "The new secret or codes; the verdict on a code; the codes around now (verify without a code); the "
        "sealed form of an imported secret; whether a lockout was lifted",
        REGISTRY.response_models(),
        errors={429: "The key or set is locked out after too many failures; Retry-After says when to try again"},
    ),
)
def otp():  # no return annotation: Powertools would try to document `Response` itself
    params = request_params(app.current_event, REGISTRY.rules, REGISTRY.body_only)
    model, rules = REGISTRY.request_model(params)
    return json_response(200, REGISTRY.answer(parse(model, params, rules)))


at_init.first_use(app, REGISTRY.request_models(), correlation_paths.API_GATEWAY_REST)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics(capture_cold_start_metric=True)
@aws.within_remaining_time
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)


at_init.done()
