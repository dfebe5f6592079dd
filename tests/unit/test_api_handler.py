"""The API handler with the events in events/ and every kind of invalid request."""

from __future__ import annotations

import copy
import io
import json

import pytest

from local_run.lambda_context import LocalLambdaContext
from tests.helpers import api_request, known_reviews, load_event


def invoke(api, event: dict) -> tuple[int, dict]:
    response = api.lambda_handler(event, LocalLambdaContext(function_name="api"))
    assert response["headers"]["Content-Type"] == "application/json"
    return response["statusCode"], json.loads(response["body"])


def event_with_body(body: str | bytes, content_type: str = "application/json") -> dict:
    event = load_event("api_predict_one.json")
    event["headers"]["content-type"] = content_type
    event["body"] = body
    return event


def test_predict_one(api):
    status, body = invoke(api, load_event("api_predict_one.json"))
    assert status == 200
    assert body["model"] == {"name": api.model.name, "version": api.model.version}
    (prediction,) = body["predictions"]
    assert prediction["label"] == "positive"
    assert prediction["score"] == prediction["probabilities"]["positive"] > 0.5
    assert prediction["truncated"] is False


def test_predict_many_in_input_order(api):
    status, body = invoke(api, load_event("api_predict_many.json"))
    assert status == 200 and len(body["predictions"]) == 3
    texts, labels = known_reviews()
    status, body = api_request(api, "POST", "/predict", {"texts": texts})
    assert status == 200 and [p["label"] for p in body["predictions"]] == labels


def test_health(api):
    status, body = invoke(api, load_event("api_health.json"))
    assert status == 200
    assert body["status"] == "ok" and len(body["sha256"]) == 64 and body["model"]["version"]


def test_bad_request_event(api):
    status, body = invoke(api, load_event("api_predict_bad_request.json"))
    assert status == 422
    assert body["error"] == "invalid request"
    assert body["details"][0]["field"] == "body.texts"
    assert "at least 1" in body["details"][0]["problem"]


@pytest.mark.parametrize(
    "payload,field,problem",
    [
        ({}, "body", "exactly one of 'text'"),
        ({"text": "a", "texts": ["b"]}, "body", "exactly one of 'text'"),
        ({"text": 5}, "body.text", "valid string"),
        ({"texts": "not a list"}, "body.texts", "valid list"),
        ({"texts": ["ok", 3]}, "body.texts.1", "valid string"),
        ({"text": "   \n\t "}, "body.text", "at least 1 character"),
        ({"texts": ["fine"] * 65}, "body.texts", "at most 64 items"),
        ({"text": "x" * 20_001}, "body.text", "at most 20000 characters"),
        ({"text": "ok", "extra": 1}, "body.extra", "Extra inputs"),
    ],
)
def test_invalid_payloads_name_the_problem(api, payload, field, problem):
    status, body = invoke(api, event_with_body(json.dumps(payload)))
    assert status == 422
    assert any(d["field"] == field and problem in d["problem"] for d in body["details"]), body
    assert "x" * 100 not in json.dumps(body)  # the input is never echoed back


def test_limits_are_inclusive(api):
    status, body = invoke(api, event_with_body(json.dumps({"texts": ["fine"] * 63 + ["x" * 20_000]})))
    assert status == 200 and len(body["predictions"]) == 64


def test_invalid_json(api):
    status, body = invoke(api, event_with_body('{"text": "unterminated'))
    assert status == 400 and body["error"] == "request body is not valid JSON"


def test_wrong_content_type(api):
    status, body = invoke(api, event_with_body("just text", content_type="text/plain"))
    assert status == 415 and "application/json" in body["error"]


def test_unknown_route(api):
    event = load_event("api_health.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/nope"
    status, body = invoke(api, event)
    assert status == 404 and "/nope" in body["error"]


def test_unexpected_error_is_a_generic_500(api, monkeypatch):
    def boom(_texts):
        raise RuntimeError("secret internal detail at /opt/python/x.py")

    monkeypatch.setattr(api.model, "predict", boom)
    log = io.StringIO()
    monkeypatch.setattr(api.logger.registered_handler, "stream", log)
    event = load_event("api_predict_one.json")
    status, body = invoke(api, copy.deepcopy(event))
    assert status == 500
    assert body["error"] == "internal error" and body["request_id"]
    assert "secret" not in json.dumps(body)
    logged = [json.loads(line) for line in log.getvalue().splitlines()]
    error_log = next(line for line in logged if line.get("message") == "unhandled error")
    assert error_log["function_request_id"] == body["request_id"] and "secret" in error_log["exception"]


def test_openapi_document_describes_predict(api):
    event = load_event("api_health.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/openapi.json"
    status, body = invoke(api, event)
    assert status == 200
    schema = body["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("PredictRequest")
    assert (
        body["components"]["schemas"]["PredictRequest"]["properties"]["texts"]["anyOf"][0]["maxItems"] == 64
    )
