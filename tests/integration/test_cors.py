"""CORS on the local run: allowed origins get the headers, preflight included; others get none."""

from __future__ import annotations

import pytest
import requests

from tests.helpers import serving_local_run

ALLOWED = "https://app.example.com"
ALSO_ALLOWED = "http://localhost:5173"
REFUSED = "https://evil.example.net"
REVIEW = {"text": "A wonderful film and I loved every minute."}


@pytest.fixture(scope="module")
def cors_run():
    with serving_local_run(CORS_ALLOWED_ORIGINS=f"{ALLOWED}, {ALSO_ALLOWED}/") as run:
        yield run.url


def preflight(url: str, origin: str) -> requests.Response:
    return requests.options(
        f"{url}/predict",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
        timeout=30,
    )


@pytest.mark.parametrize("origin", [ALLOWED, ALSO_ALLOWED])
def test_an_allowed_origin_passes_preflight_and_reads_the_answer(cors_run, origin):
    answer = preflight(cors_run, origin)
    assert answer.status_code == 204
    assert answer.headers["Access-Control-Allow-Origin"] == origin
    assert "POST" in answer.headers["Access-Control-Allow-Methods"]
    assert "content-type" in answer.headers["Access-Control-Allow-Headers"].lower()
    assert answer.headers["Access-Control-Max-Age"] == "600"

    predicted = requests.post(f"{cors_run}/predict", json=REVIEW, headers={"Origin": origin}, timeout=30)
    assert predicted.status_code == 200 and predicted.json()["predictions"][0]["label"] == "positive"
    assert predicted.headers["Access-Control-Allow-Origin"] == origin


def test_a_refused_origin_gets_no_cors_headers(cors_run):
    answer = preflight(cors_run, REFUSED)
    assert "Access-Control-Allow-Origin" not in answer.headers
    predicted = requests.post(f"{cors_run}/predict", json=REVIEW, headers={"Origin": REFUSED}, timeout=30)
    assert predicted.status_code == 200  # served (CORS binds browsers), but a browser may not read it
    assert "Access-Control-Allow-Origin" not in predicted.headers


def test_by_default_no_origin_is_allowed(local_run):
    answer = preflight(local_run.url, ALLOWED)
    assert answer.status_code == 404 and "Access-Control-Allow-Origin" not in answer.headers
    predicted = requests.post(
        f"{local_run.url}/predict", json=REVIEW, headers={"Origin": ALLOWED}, timeout=30
    )
    assert predicted.status_code == 200 and "Access-Control-Allow-Origin" not in predicted.headers
