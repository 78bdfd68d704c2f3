"""`aws_answers`: put AWS's own HTTP answer on the wire of one botocore operation, in place of moto's."""

from collections.abc import Callable, Iterator

import pytest
from botocore.awsrequest import AWSResponse
from moto_fixtures import mocked_aws, s3  # noqa: F401 - fixtures


@pytest.fixture(autouse=True)
def aws(mocked_aws):  # noqa: F811
    return mocked_aws


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: object) -> Iterator[bytes]:
        yield self.data


@pytest.fixture
def aws_answers():
    """`answer(client, "HeadObject", status, body)`: every call of that operation gets this HTTP response, parsed
    and retried by botocore as a real one would be. Returns a list of the calls answered (retries included)."""
    from moto.core.models import botocore_stubber

    installed: list[tuple[object, str, Callable]] = []

    def answer(client, operation: str, status: int, body: bytes = b"", content_type: str = "application/xml") -> list:
        calls: list[str] = []

        # botocore calls every before-send handler and sends the first response given. This one, on the
        # operation's own event, comes first; moto's stubber (on plain "before-send") is told to let the request
        # pass, and a last handler on plain "before-send" turns it back on.
        def respond(request, **_):
            calls.append(request.url)
            botocore_stubber.enabled = False
            headers = {"Content-Type": content_type, "x-amz-request-id": "TESTREQUEST"} if body else {}
            return AWSResponse(request.url, status, headers, _Body(body))

        def moto_again(**_):
            botocore_stubber.enabled = True

        event = f"before-send.{client.meta.service_model.service_id.hyphenize()}.{operation}"
        client.meta.events.register_first(event, respond)
        client.meta.events.register_last("before-send", moto_again)
        installed.extend([(client, event, respond), (client, "before-send", moto_again)])
        return calls

    yield answer
    for client, event, handler in installed:
        client.meta.events.unregister(event, handler)
    botocore_stubber.enabled = True
