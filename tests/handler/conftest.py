"""The functions in process, with AWS from moto's in-process mock for every test."""

import pytest
from moto_fixtures import mocked_aws, s3, stateless, verify_settings  # noqa: F401 - fixtures


@pytest.fixture(autouse=True)
def aws(mocked_aws):  # noqa: F811
    return mocked_aws
