"""The functions in process, with AWS from moto's in-process mock for every test."""

import threading

import pytest
from moto_fixtures import mocked_aws, s3, stateless, verify_settings  # noqa: F401 - fixtures


@pytest.fixture(autouse=True)
def aws(mocked_aws):  # noqa: F811
    return mocked_aws


@pytest.fixture
def atomic_items(monkeypatch):
    """DynamoDB applies each conditional write atomically; moto's in-process backend does not promise that across
    threads. A lock around its writes gives the test DynamoDB's guarantee, so what is tested is our use of it."""
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.Lock()
    original = DynamoDBBackend.update_item

    def update_item(self, *args, **kwargs):
        with lock:
            return original(self, *args, **kwargs)

    monkeypatch.setattr(DynamoDBBackend, "update_item", update_item)


@pytest.fixture
def metrics_one_flush_at_a_time(monkeypatch):
    """The threads stand for Lambda instances but share this process's one Metrics object, which Lambda never
    does: one thread's flush could empty the set another was serialising ("Must contain at least one metric")."""
    from otp_api.observability import metrics

    lock, original = threading.Lock(), metrics.flush_metrics

    def flush_metrics(*args, **kwargs):
        with lock:
            return original(*args, **kwargs)

    monkeypatch.setattr(metrics, "flush_metrics", flush_metrics)
