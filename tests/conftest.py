"""Settings every test shares: no AWS account, no X-Ray daemon, one metrics namespace; one in-process
moto with the template's resources for the whole session, whichever tiers use it."""

from __future__ import annotations

import importlib
import os

import pytest
from moto import mock_aws

from local_run.resources import Resources, create_resources

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "ImdbSentiment")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "imdb-sentiment")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def aws() -> Resources:
    os.environ.pop("AWS_ENDPOINT_URL", None)
    with mock_aws():
        resources = create_resources(visibility_timeout=0)  # failed messages come straight back
        os.environ.update(resources.environment())
        yield resources


@pytest.fixture(scope="session")
def worker(aws):
    return importlib.import_module("functions.worker.app")


@pytest.fixture(scope="session")
def batch(aws):
    return importlib.import_module("functions.batch.app")


@pytest.fixture(scope="session")
def api(aws):
    return importlib.import_module("functions.api.app")
