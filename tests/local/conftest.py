"""The local server and the built package, with moto's server behind them (never the in-process mock, which would
intercept their clients); `mocked_aws` for the one test that stands moto's CloudFormation in for a stack."""

from moto_fixtures import mocked_aws  # noqa: F401 - a fixture
