"""The PreTraffic hook against a good and a broken new version, with stubbed Lambda and CodeDeploy clients."""

from __future__ import annotations

import io
import json

import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from functions.pretraffic import app as hook
from local_run.lambda_context import LocalLambdaContext

VERSION = "arn:aws:lambda:us-east-1:123456789012:function:api:7"
EVENT = {"DeploymentId": "d-ABC123", "LifecycleEventHookExecutionId": "hook-exec-1"}


def payload(document: dict) -> StreamingBody:
    raw = json.dumps(document).encode()
    return StreamingBody(io.BytesIO(raw), len(raw))


def run_hook(
    monkeypatch, invoke_response: dict | None, expected_status: str, invoke_error: str | None = None
):
    monkeypatch.setenv("TARGET_FUNCTION_VERSION", VERSION)
    with Stubber(hook.lambda_client) as lambda_stub, Stubber(hook.codedeploy) as codedeploy_stub:
        expected_invoke = {"FunctionName": VERSION, "InvocationType": "RequestResponse", "Payload": ANY}
        if invoke_error:
            lambda_stub.add_client_error("invoke", invoke_error, expected_params=expected_invoke)
        else:
            lambda_stub.add_response("invoke", invoke_response, expected_invoke)
        codedeploy_stub.add_response(
            "put_lifecycle_event_hook_execution_status",
            {"lifecycleEventHookExecutionId": "hook-exec-1"},
            {
                "deploymentId": "d-ABC123",
                "lifecycleEventHookExecutionId": "hook-exec-1",
                "status": expected_status,
            },
        )
        result = hook.lambda_handler(EVENT, LocalLambdaContext(function_name="hook"))
        lambda_stub.assert_no_pending_responses()
        codedeploy_stub.assert_no_pending_responses()
    assert result["status"] == expected_status
    return result


def answer(labels: list[str], status: int = 200) -> dict:
    predictions = [
        {"label": label, "score": 0.9, "probabilities": {}, "truncated": False} for label in labels
    ]
    body = json.dumps({"model": {"name": "m", "version": "1"}, "predictions": predictions})
    return {"StatusCode": 200, "Payload": payload({"statusCode": status, "body": body})}


def test_good_version_succeeds(monkeypatch):
    assert (
        run_hook(monkeypatch, answer([label for _, label in hook.KNOWN_REVIEWS]), "Succeeded")["problem"]
        is None
    )


def test_version_that_crashes_at_init_fails(monkeypatch):
    response = {
        "StatusCode": 200,
        "FunctionError": "Unhandled",
        "Payload": payload({"errorType": "Runtime.ExitError", "errorMessage": "signal: segmentation fault"}),
    }
    result = run_hook(monkeypatch, response, "Failed")
    assert "Unhandled" in result["problem"] and "segmentation fault" in result["problem"]


def test_version_with_wrong_answers_fails(monkeypatch):
    result = run_hook(monkeypatch, answer(["positive"] * len(hook.KNOWN_REVIEWS)), "Failed")
    assert "wrong answers" in result["problem"]


def test_version_answering_500_fails(monkeypatch):
    response = {
        "StatusCode": 200,
        "Payload": payload({"statusCode": 500, "body": '{"error": "internal error"}'}),
    }
    assert "HTTP 500" in run_hook(monkeypatch, response, "Failed")["problem"]


def test_version_that_cannot_be_invoked_fails(monkeypatch):
    assert (
        "could not invoke"
        in run_hook(monkeypatch, None, "Failed", invoke_error="ResourceNotFoundException")["problem"]
    )


@pytest.mark.parametrize("texts", [[t for t, _ in hook.KNOWN_REVIEWS]])
def test_the_hook_event_is_one_the_api_handler_answers(api, texts):
    response = api.lambda_handler(hook.predict_event(texts), LocalLambdaContext(function_name="api"))
    labels = [p["label"] for p in json.loads(response["body"])["predictions"]]
    assert response["statusCode"] == 200 and labels == [label for _, label in hook.KNOWN_REVIEWS]
