"""Property-based fuzzing of the HTTP API from its own OpenAPI document (schemathesis) against the local run.

Every operation the document lists gets valid and invalid requests generated from its schemas; each
answer must not be a 5xx, must be a status the document lists, and must match its response schema.
Bounded: a fixed number of examples per operation, no shrinking, so the run stops by itself.
"""

from __future__ import annotations

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

EXAMPLES_PER_OPERATION = 40
OPERATIONS = [
    ("POST", "/predict"),
    ("GET", "/health"),
    ("POST", "/jobs"),
    ("GET", "/jobs/{job_id}"),
    ("POST", "/files"),
    ("GET", "/files/{file_id}"),
]


@pytest.fixture(scope="module")
def api_schema(local_run) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{local_run.url}/openapi.json")


def test_the_document_lists_every_public_route(local_run):
    paths = requests.get(f"{local_run.url}/openapi.json", timeout=10).json()["paths"]
    assert {(m.upper(), p) for p, item in paths.items() for m in item} == set(OPERATIONS)


JOB_CHARS = 20_000


def quick_to_score(case: schemathesis.Case) -> bool:
    """Keep queued jobs small: the local run's worker shares the API's one-at-a-time lock (one process),
    so a fuzzed job of 1,000 x 20,000 characters would hold the API up for minutes. In AWS they are
    separate functions; the limits themselves are asserted in tests/unit."""
    if case.path != "/jobs" or not isinstance(case.body, dict):
        return True
    texts = case.body.get("texts")
    texts = texts if isinstance(texts, list) else [case.body.get("text")]
    return sum(len(t) for t in texts if isinstance(t, str)) <= JOB_CHARS


POSITIVE, NEGATIVE = schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE
# Negative data only where there is input a schema can forbid (a string path parameter cannot be invalid).
RUNS = [(*operation, POSITIVE) for operation in OPERATIONS] + [
    ("POST", "/predict", NEGATIVE),
    ("POST", "/jobs", NEGATIVE),
    ("POST", "/files", NEGATIVE),
]


@pytest.mark.parametrize("method,path,mode", RUNS)
def test_api_holds_to_its_openapi_document(api_schema, method, path, mode):
    # Hypothesis drives schemathesis' strategies directly: its pytest plugin does not run on pytest 9.
    calls = []

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(case=api_schema[path][method].as_strategy(generation_mode=mode).filter(quick_to_score))
    def fuzz(case: schemathesis.Case) -> None:
        response = case.call_and_validate(timeout=30)
        calls.append(response.status_code)

    fuzz()
    assert calls and all(status < 500 for status in calls)
