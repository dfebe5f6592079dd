"""Data protection: what the template guarantees at rest and in transit, and what the logs never hold."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from cfnlint.decode import cfn_yaml

from tests.helpers import context, drain, load_event, receive, run_worker, s3_events

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = cfn_yaml.load(str(REPO / "template.yaml"))
RESOURCES = TEMPLATE["Resources"]


def of_type(kind: str) -> dict[str, dict]:
    return {name: r for name, r in RESOURCES.items() if r["Type"] == kind}


def tls_only(policy: dict, targets: list) -> bool:
    for statement in policy["Statement"]:
        if (
            statement["Effect"] == "Deny"
            and statement["Principal"] == "*"
            and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        ):
            return all(t in statement["Resource"] for t in targets)
    return False


# ---------------------------------------------------------------- at rest and in transit


# The application stack and, where present, the release stack that holds the model registry.
STACKS = {
    path: cfn_yaml.load(str(REPO / path))["Resources"]
    for path in ("template.yaml", "pipeline/bootstrap.yaml")
    if (REPO / path).exists()
}
BUCKETS = sorted(
    (path, name)
    for path, resources in STACKS.items()
    for name, r in resources.items()
    if r["Type"] == "AWS::S3::Bucket"
)


@pytest.mark.parametrize("stack,bucket", BUCKETS)
def test_buckets_are_private_encrypted_and_tls_only(stack, bucket):
    resources = STACKS[stack]
    props = resources[bucket]["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    policies = [
        p["Properties"]["PolicyDocument"]
        for p in resources.values()
        if p["Type"] == "AWS::S3::BucketPolicy" and p["Properties"]["Bucket"] == {"Ref": bucket}
    ]
    arn, objects = {"Fn::GetAtt": [bucket, "Arn"]}, {"Fn::Sub": f"${{{bucket}.Arn}}/*"}
    assert any(tls_only(p, [arn, objects]) for p in policies), f"{bucket} accepts plain HTTP"
    if any(word in bucket.lower() for word in ("artifact", "model", "registry")):
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}  # a model version is never lost


def test_data_bucket_expires_what_analysts_and_jobs_leave_behind():
    rules = RESOURCES["DataBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    expiring = {r.get("Prefix"): r["ExpirationInDays"] for r in rules if "ExpirationInDays" in r}
    assert set(expiring) >= {"incoming/", "scored/", "jobs/"}
    assert all(0 < days <= 90 for days in expiring.values())
    assert any(r.get("AbortIncompleteMultipartUpload") and "Prefix" not in r for r in rules)
    assert all(r["Status"] == "Enabled" for r in rules)


def test_queues_tables_and_topic_are_encrypted_and_queues_tls_only():
    queues = of_type("AWS::SQS::Queue")
    assert len(queues) >= 3
    for name, queue in queues.items():
        props = queue["Properties"]
        assert props.get("SqsManagedSseEnabled") is True or props.get("KmsMasterKeyId"), name
    (policy,) = of_type("AWS::SQS::QueuePolicy").values()
    assert sorted(r["Ref"] for r in policy["Properties"]["Queues"]) == sorted(queues)
    assert tls_only(policy["Properties"]["PolicyDocument"], [{"Fn::GetAtt": [q, "Arn"]} for q in queues])
    for name, table in of_type("AWS::DynamoDB::Table").items():
        assert table["Properties"]["SSESpecification"]["SSEEnabled"] is True, name
    for name, topic in of_type("AWS::SNS::Topic").items():
        assert topic["Properties"]["KmsMasterKeyId"], name


def test_api_throttling_comes_from_parameters():
    settings = RESOURCES["HttpApi"]["Properties"]["DefaultRouteSettings"]
    assert settings == {
        "ThrottlingRateLimit": {"Ref": "ApiThrottleRate"},
        "ThrottlingBurstLimit": {"Ref": "ApiThrottleBurst"},
    }
    for parameter in ("ApiThrottleRate", "ApiThrottleBurst"):
        assert TEMPLATE["Parameters"][parameter]["Type"] == "Number"
        assert TEMPLATE["Parameters"][parameter]["Default"] > 0


def test_functions_log_to_their_own_groups_with_retention_and_never_the_event():
    assert (
        TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_LOGGER_LOG_EVENT"] == "false"
    )
    groups = of_type("AWS::Logs::LogGroup")
    for name, function in of_type("AWS::Serverless::Function").items():
        group = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert groups[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, name
        variables = function["Properties"].get("Environment", {}).get("Variables", {})
        assert "POWERTOOLS_LOGGER_LOG_EVENT" not in variables, name


# ---------------------------------------------------------------- no review text in logs


@contextlib.contextmanager
def everything_logged(caplog, *modules) -> Iterator[io.StringIO]:
    """Every function log line, at DEBUG (LogLevel's most verbose), and stdlib logs at INFO, in one buffer.

    (botocore's DEBUG wire log prints request bodies; nothing in the template or the code turns it on.)
    """
    buffer = io.StringIO()
    saved = []
    for module in modules:
        handler = module.logger.registered_handler
        saved.append((module.logger, handler, handler.stream, module.logger.log_level))
        handler.stream = buffer
        module.logger.setLevel("DEBUG")
    try:
        with caplog.at_level(logging.INFO):
            yield buffer
    finally:
        for logger, handler, stream, level in saved:
            handler.stream = stream
            logger.setLevel(level)
        buffer.write("\n".join(r.getMessage() + str(r.__dict__) for r in caplog.records))


def invoke_api(api, method: str, path: str, body: str | None) -> tuple[int, str]:
    event = load_event("api_predict_one.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    event["body"] = body
    response = api.lambda_handler(event, context("api"))
    return response["statusCode"], response["body"]


def test_no_review_text_or_body_reaches_the_logs(api, worker, batch, aws, caplog, capsys):
    marker = f"marker{uuid.uuid4().hex}"
    review = f"I loved this film, {marker}, and would watch it again."
    drain(aws.jobs_queue_url)
    s3_events(aws)
    with everything_logged(caplog, api, worker, batch) as logged:
        assert invoke_api(api, "POST", "/predict", json.dumps({"text": review}))[0] == 200
        assert invoke_api(api, "POST", "/predict", json.dumps({"texts": [review, "Dull."]}))[0] == 200
        status, body = invoke_api(api, "POST", "/predict", json.dumps({"text": review, "extra": marker}))
        assert status == 422 and marker not in body  # nor echoed in the answer
        status, body = invoke_api(api, "POST", "/predict", '{"text": "' + review)
        assert status == 400 and marker not in body

        status, body = invoke_api(api, "POST", "/jobs", json.dumps({"texts": [review]}))
        job_id = json.loads(body)["job_id"]
        assert run_worker(worker, aws.jobs_queue_url, receive(aws.jobs_queue_url)) == set()
        status, body = invoke_api(api, "GET", f"/jobs/{job_id}", None)
        assert json.loads(body)["status"] == "done"

        s3 = boto3.client("s3")
        s3.put_object(Bucket=aws.bucket, Key="incoming/private.csv", Body=f"id,text\n1,{review}\n".encode())
        s3.put_object(Bucket=aws.bucket, Key="incoming/private-bad.csv", Body=f"id,{marker}\n1,x\n".encode())
        for event in s3_events(aws):
            batch.lambda_handler(event, context("batch"))
    output = logged.getvalue() + "".join(capsys.readouterr())
    assert "file scored" in output and "model_version" in output  # the capture works
    assert review not in output and marker not in output.replace(f"'{marker}'", "")
    # The one place the marker may appear is the rejected file's column list (a header, not a review).
    rejected = [line for line in output.splitlines() if marker in line]
    assert all("file not scored" in line and "columns:" in line for line in rejected), rejected
