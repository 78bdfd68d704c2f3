"""Powertools Logger and Metrics, created once per process.

No Tracer: Lambda's active tracing records each invocation without the X-Ray SDK, which costs cold-start time
and could capture responses (secrets) if misused.
"""

import logging
import warnings

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
metrics = Metrics()

# botocore's DEBUG records carry whole request bodies (a KMS Encrypt's plaintext key among them): never emit
# them, whatever level the runtime or an operator gives the root logger.
logging.getLogger("botocore").setLevel(logging.INFO)

# Requests that emit no metric (errors, code listings) are normal here, not worth a warning in every log stream.
warnings.filterwarnings("ignore", "No application metrics to publish", UserWarning)


def count_outcome(name: str, **dimensions: str) -> None:
    """Count the outcome of this request (its dimensions: what kind). Each invocation emits at most one such
    metric, so the invocation's dimensions belong to it alone."""
    for key, value in dimensions.items():
        metrics.add_dimension(name=key, value=value)
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


def count_for_alarm(name: str) -> None:
    """Count a rare event in a metric of its own, with the service dimension only, as the template's alarms
    watch it (LockoutSpikeAlarm)."""
    from aws_lambda_powertools.metrics import single_metric

    with single_metric(name=name, unit=MetricUnit.Count, value=1, namespace=metrics.namespace) as metric:
        metric.add_dimension(name="service", value=metrics.service or "otp-api")
