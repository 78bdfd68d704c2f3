"""botocore clients, made on first use and kept for the life of the Lambda instance.

botocore directly rather than boto3: boto3's session, resource layer and S3 transfer manager cost about 25 ms of
cold start and nothing here needs them. Nothing imports botocore until a request needs AWS: the verify path without
replay protection never does.
"""

from functools import cache
from typing import Any

from otp_api.settings import get_settings


@cache
def _session() -> Any:
    import botocore.session

    return botocore.session.get_session()


def client(service: str, **config: Any) -> Any:
    """A client with short timeouts and few retries: a caller waiting on a login page is better served by a quick
    503 than by a slow success."""
    from botocore.config import Config

    options = Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=2, read_timeout=5, **config)
    return _session().create_client(service, region_name=get_settings().region, config=options)
