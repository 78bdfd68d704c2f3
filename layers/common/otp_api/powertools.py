"""Powertools' API Gateway resolver, without the rest of its event handler package or its event classes.

Two Powertools packages import far more in their `__init__` than the functions use:
- `aws_lambda_powertools.event_handler` imports every resolver it has (AppSync, AppSync Events, Bedrock agents,
  VPC Lattice, Lambda function URLs, the HTTP resolver) and with them asyncio: 26 to 34 ms of CPU at every cold
  start (docs/performance.md);
- `aws_lambda_powertools.utilities.data_classes` imports the event class of every event source Lambda has (S3,
  SQS, Kinesis, CodePipeline with zipfile and tempfile, ...), where the resolver needs five: about 15 ms.
Each is entered here without running that `__init__` (otp_api/packages.py: its submodules load as usual, and any
other name runs the `__init__` then) and given the names Powertools' own modules import from it, so that
`from aws_lambda_powertools.event_handler import Response` still works. A package imported already (a test, a tool)
is used as it is. tests/unit/test_powertools.py checks both ways, and the handler suites run the functions on it.
"""

import importlib

from otp_api import packages

PACKAGE = "aws_lambda_powertools.event_handler"
# The names __init__ takes from api_gateway (Powertools 3.37.0), which Powertools' other modules import from it.
FROM_API_GATEWAY = ("ALBResolver", "APIGatewayHttpResolver", "ApiGatewayResolver", "APIGatewayRestResolver",
                    "CORSConfig", "Response")  # fmt: skip
EVENTS = "aws_lambda_powertools.utilities.data_classes"
# The event classes api_gateway imports from that package (Powertools 3.37.0), and the module of each.
EVENT_CLASSES = {
    "ALBEvent": "alb_event",
    "APIGatewayProxyEvent": "api_gateway_proxy_event",
    "APIGatewayProxyEventV2": "api_gateway_proxy_event",
    "BedrockAgentEvent": "bedrock_agent_event",
    "LambdaFunctionUrlEvent": "lambda_function_url_event",
    "VPCLatticeEvent": "vpc_lattice",
    "VPCLatticeEventV2": "vpc_lattice",
}

_events = packages.enter(EVENTS)
if _events is not None:
    for _name, _module in EVENT_CLASSES.items():
        setattr(_events, _name, getattr(importlib.import_module(f"{EVENTS}.{_module}"), _name))

_handlers = packages.enter(PACKAGE)

from aws_lambda_powertools.event_handler import api_gateway  # noqa: E402 - the package shells first
from aws_lambda_powertools.utilities.data_classes.api_gateway_proxy_event import APIGatewayProxyEvent  # noqa: E402

if _handlers is not None:
    for _name in FROM_API_GATEWAY:
        setattr(_handlers, _name, getattr(api_gateway, _name))

APIGatewayRestResolver = api_gateway.APIGatewayRestResolver
APIGatewayHttpResolver = api_gateway.APIGatewayHttpResolver
ProxyEventType = api_gateway.ProxyEventType
CORSConfig = api_gateway.CORSConfig
Response = api_gateway.Response
__all__ = ["APIGatewayHttpResolver", "APIGatewayProxyEvent", "APIGatewayRestResolver", "CORSConfig", "ProxyEventType",
           "Response"]  # fmt: skip
