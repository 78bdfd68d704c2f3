"""otp_api/powertools.py: the resolver without the __init__ of the event handler package or of the event classes'
package, in fresh interpreters as Lambda's init runs it."""

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
other_events = "aws_lambda_powertools.utilities.data_classes.sqs_event" in sys.modules
{after}
print(Again is Response, answer["statusCode"], answer["body"], others, other_events)
"""


def run(before: str = "", after: str = "") -> str:
    code = PROBE.format(layer=str(ROOT / "layers" / "common"), before=before, after=after)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()


def test_the_resolver_loads_without_the_other_resolvers_or_event_classes_and_still_answers():
    assert run() == ["True", "200", "pong", "False", "False"]


def test_a_package_imported_before_is_used_as_it_is():
    before = "import aws_lambda_powertools.event_handler, aws_lambda_powertools.utilities.data_classes"
    assert run(before) == ["True", "200", "pong", "True", "True"]


def test_any_other_event_class_is_found_as_before():
    # Given the event classes' package entered without its __init__, When a name it lacks is imported from it
    after = """
from aws_lambda_powertools.utilities.data_classes import SQSEvent, APIGatewayProxyEvent
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSEvent as Same
from otp_api.powertools import APIGatewayProxyEvent as Ours
assert SQSEvent is Same and APIGatewayProxyEvent is Ours
try:
    from aws_lambda_powertools.utilities.data_classes import NoSuchEvent
except ImportError:
    pass
else:
    raise AssertionError("a name the package lacks")
other_events = "aws_lambda_powertools.utilities.data_classes.sqs_event" in sys.modules
"""
    # Then the package's own __init__ has run, and the name is there
    assert run(after=after) == ["True", "200", "pong", "False", "True"]
