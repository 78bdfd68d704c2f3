"""The verify-state table's stream → security events on EventBridge (otp_api/events, docs/events.md)."""

import gc

gc.disable()  # init makes what lives as long as the environment: nothing to collect until it is done (at_init.done)

from aws_lambda_powertools.utilities.typing import LambdaContext

from otp_api import at_init, aws
from otp_api.events import bus
from otp_api.observability import logger
from otp_api.settings import get_event_settings, get_settings

# fail the cold start on a misconfiguration, not the first batch; then the client every batch needs
get_event_settings()
get_settings()
bus.connect()


@logger.inject_lambda_context
@aws.within_remaining_time
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return bus.publish(event.get("Records", []))


at_init.done()
