"""CodeDeploy PreTraffic hook: the new API version must load its model and answer known reviews.

Runs before any traffic shifts to the new version. A version whose model does not
load (a missing artifact, an onnxruntime build that crashes on Graviton) or that
answers wrongly fails the deployment, and CodeDeploy rolls back.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import boto3

logger = logging.getLogger()
logger.setLevel(logging.INFO)

# The reviews every served model must answer right; beside the code, as the hook ships without the layer.
# The smoke test and the model tests hold the service to the same file.
KNOWN_REVIEWS = [
    (review["text"], review["label"])
    for review in json.loads((Path(__file__).parent / "known_reviews.json").read_text())
]

lambda_client = boto3.client("lambda")
codedeploy = boto3.client("codedeploy")


def predict_event(texts: list[str]) -> dict:
    """An HTTP API v2 event for POST /predict, as API Gateway would send it."""
    body = json.dumps({"texts": texts})
    return {
        "version": "2.0",
        "routeKey": "POST /predict",
        "rawPath": "/predict",
        "rawQueryString": "",
        "headers": {"content-type": "application/json", "content-length": str(len(body))},
        "requestContext": {
            "http": {
                "method": "POST",
                "path": "/predict",
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "pretraffic-hook",
            },
            "requestId": "pretraffic-hook",
            "routeKey": "POST /predict",
            "stage": "$default",
        },
        "body": body,
        "isBase64Encoded": False,
    }


def check_version(function_version_arn: str) -> str | None:
    """None if the version answers every known review correctly, else what went wrong."""
    response = lambda_client.invoke(
        FunctionName=function_version_arn,
        InvocationType="RequestResponse",
        Payload=json.dumps(predict_event([t for t, _ in KNOWN_REVIEWS])).encode(),
    )
    payload = response["Payload"].read()
    if response.get("FunctionError"):
        return f"the new version failed ({response['FunctionError']}): {payload[:500]!r}"
    result = json.loads(payload)
    if result.get("statusCode") != 200:
        return f"the new version answered HTTP {result.get('statusCode')}: {str(result.get('body'))[:500]}"
    labels = [p["label"] for p in json.loads(result["body"])["predictions"]]
    expected = [label for _, label in KNOWN_REVIEWS]
    if labels != expected:
        return f"wrong answers for known reviews: got {labels}, expected {expected}"
    return None


def lambda_handler(event: dict, context) -> dict:
    version = os.environ["TARGET_FUNCTION_VERSION"]
    try:
        problem = check_version(version)
    except Exception as error:  # an unreachable or crashing version is a failed check, not a stuck deployment
        problem = f"could not invoke {version}: {type(error).__name__}: {error}"
    status = "Failed" if problem else "Succeeded"
    logger.info(json.dumps({"version": version, "status": status, "problem": problem}))
    codedeploy.put_lifecycle_event_hook_execution_status(
        deploymentId=event["DeploymentId"],
        lifecycleEventHookExecutionId=event["LifecycleEventHookExecutionId"],
        status=status,
    )
    return {"status": status, "problem": problem}
