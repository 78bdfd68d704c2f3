"""Powertools Logger and Metrics, created once per process.

No Tracer: Lambda's active tracing records each invocation without the X-Ray SDK, which costs cold-start time
and could capture responses (secrets) if misused.
"""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
metrics = Metrics()


def count(name: str, **dimensions: str) -> None:
    """Emit one count for `name`, with dimensions that belong to this metric alone."""
    from aws_lambda_powertools.metrics import single_metric

    with single_metric(name=name, unit=MetricUnit.Count, value=1, namespace=metrics.namespace) as metric:
        for key, value in dimensions.items():
            metric.add_dimension(name=key, value=value)
