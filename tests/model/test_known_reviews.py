"""The served model answers the known reviews (the PreTraffic hook's file) right, on every path."""

from __future__ import annotations

import json

from functions.pretraffic import app as hook
from tests.helpers import api_request, context, drain, known_reviews, receive, run_worker, submit


def test_the_api_answers_the_known_reviews(api):
    texts, labels = known_reviews()
    status, body = api_request(api, "POST", "/predict", {"texts": texts})
    assert status == 200 and [p["label"] for p in body["predictions"]] == labels
    assert body["model"]["name"] == "imdb-minilm-sentiment"


def test_the_hook_event_gets_the_known_labels(api):
    texts, labels = known_reviews()
    response = api.lambda_handler(hook.predict_event(texts), context("api"))
    body = json.loads(response["body"])
    assert response["statusCode"] == 200 and [p["label"] for p in body["predictions"]] == labels


def test_a_job_answers_the_known_reviews(api, worker, aws):
    texts, labels = known_reviews()
    drain(aws.jobs_queue_url)
    job_id = submit(api, texts)
    assert run_worker(worker, aws.jobs_queue_url, receive(aws.jobs_queue_url)) == set()
    status, body = api_request(api, "GET", f"/jobs/{job_id}")
    assert status == 200 and [p["label"] for p in body["predictions"]] == labels
