"""Powertools' API Gateway resolver, without the rest of its event handler package.

`aws_lambda_powertools.event_handler`'s `__init__` imports every resolver it has (AppSync, AppSync Events, Bedrock
agents, VPC Lattice, Lambda function URLs, the HTTP resolver) and with them asyncio: 26 to 34 ms of CPU at every
cold start for code the functions never run (docs/performance.md). The package is entered here without running
that `__init__` (its submodules load as usual), and given the names of the one module the functions use, so that
Powertools' own `from aws_lambda_powertools.event_handler import Response` still works. If the package was
imported already (a test, a tool), it is used as it is. tests/unit/test_powertools.py checks both ways, and the
handler suites run the functions on it.
"""

import importlib.util
import sys

PACKAGE = "aws_lambda_powertools.event_handler"
# The names __init__ takes from api_gateway (Powertools 3.37.0), which Powertools' other modules import from it.
FROM_API_GATEWAY = ("ALBResolver", "APIGatewayHttpResolver", "ApiGatewayResolver", "APIGatewayRestResolver",
                    "CORSConfig", "Response")  # fmt: skip

if PACKAGE not in sys.modules:
    _spec = importlib.util.find_spec(PACKAGE)
    assert _spec is not None
    sys.modules[PACKAGE] = importlib.util.module_from_spec(_spec)  # a package whose __init__ has not run

from aws_lambda_powertools.event_handler import api_gateway  # noqa: E402 - the package shell first

for _name in FROM_API_GATEWAY:
    setattr(sys.modules[PACKAGE], _name, getattr(api_gateway, _name))

APIGatewayRestResolver = api_gateway.APIGatewayRestResolver
APIGatewayHttpResolver = api_gateway.APIGatewayHttpResolver
ProxyEventType = api_gateway.ProxyEventType
CORSConfig = api_gateway.CORSConfig
Response = api_gateway.Response
