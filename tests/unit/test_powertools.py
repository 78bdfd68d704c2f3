"""otp_api/powertools.py: the resolver without the event handler package's __init__, in fresh interpreters as
Lambda's init runs it."""

import subprocess
import sys

from support import ROOT

PROBE = """
import sys
sys.path.insert(0, {layer!r})
{before}
from otp_api.powertools import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler import Response as Again  # as Powertools' own modules import it
from aws_lambda_powertools.event_handler.middlewares import BaseMiddlewareHandler  # imports the package's names
app = APIGatewayRestResolver()
app.use(middlewares=[lambda app, next_middleware: next_middleware(app)])
@app.get("/ping")
def ping():
    return Response(200, "text/plain", "pong")
answer = app.resolve({{"httpMethod": "GET", "path": "/ping", "resource": "/ping", "requestContext": {{}},
                      "headers": {{}}}}, None)
others = "aws_lambda_powertools.event_handler.appsync" in sys.modules
print(Again is Response, answer["statusCode"], answer["body"], others)
"""


def run(before: str = "") -> str:
    code = PROBE.format(layer=str(ROOT / "layers" / "common"), before=before)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()


def test_the_resolver_loads_without_the_other_resolvers_and_still_answers():
    assert run() == ["True", "200", "pong", "False"]


def test_a_package_imported_before_is_used_as_it_is():
    assert run("import aws_lambda_powertools.event_handler") == ["True", "200", "pong", "True"]
