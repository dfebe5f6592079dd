"""Shadow scoring in the templates: off (no resources) unless ShadowModelVersion is set; when on, an
encrypted short-lived queue that dead-letters after two receives, an API that may only send to it, a
shadow function that may only drain it, an alarm on agreement, and the candidate in the image."""

from __future__ import annotations

import os
import re
from unittest import mock

from local_run import resources as local
from sentiment_core import settings
from sentiment_core.manifest import MANIFEST
from tests.infra.cfn import NESTED, REPO, RESOURCES, ROOT

SHADOW = NESTED["templates/shadow.yaml"]["Resources"]
ON = "ShadowScoringOn"


def test_off_by_default_and_every_shadow_resource_behind_one_condition():
    assert ROOT["Parameters"]["ShadowModelVersion"]["Default"] == ""
    assert ROOT["Conditions"][ON] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "ShadowModelVersion"}, ""]}]}
    stack = ROOT["Resources"]["ShadowScoring"]
    assert stack["Condition"] == ON and stack["Properties"]["Location"] == "templates/shadow.yaml"
    assert not any("Shadow" in name for name in ROOT["Resources"] if name != "ShadowScoring")
    for parameter, low, high in (("ShadowSampleRate", 0, 1), ("ShadowMinAgreement", 0, 100)):
        spec = ROOT["Parameters"][parameter]
        assert (spec["MinValue"], spec["MaxValue"]) == (low, high) and low <= spec["Default"] <= high


def test_the_api_is_told_the_queue_only_when_on_and_may_only_send_to_it():
    variables = RESOURCES["ApiFunction"]["Properties"]["Environment"]["Variables"]
    queue = {"Fn::GetAtt": ["ShadowScoring", "Outputs.QueueArn"]}
    assert variables["SHADOW_QUEUE_URL"] == {
        "Fn::If": [ON, {"Fn::GetAtt": ["ShadowScoring", "Outputs.QueueUrl"]}, ""]
    }
    assert variables["SHADOW_SAMPLE_RATE"] == {"Ref": "ShadowSampleRate"}
    (policy,) = RESOURCES["ApiFunctionRole"]["Properties"]["Policies"]
    conditional = [s["Fn::If"] for s in policy["PolicyDocument"]["Statement"] if "Fn::If" in s]
    shadow = [branches for branches in conditional if branches[0] == ON]
    assert shadow == [
        [ON, {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue}, {"Ref": "AWS::NoValue"}]
    ]


def test_the_queue_holds_texts_encrypted_an_hour_and_dead_letters_after_two_receives():
    queue, dead = SHADOW["ShadowQueue"]["Properties"], SHADOW["ShadowDeadLetterQueue"]["Properties"]
    for props in (queue, dead):
        assert props["SqsManagedSseEnabled"] == {"Fn::If": ["HasKmsKey", {"Ref": "AWS::NoValue"}, True]}
        assert props["KmsMasterKeyId"] == {
            "Fn::If": ["HasKmsKey", {"Ref": "KmsKeyArn"}, {"Ref": "AWS::NoValue"}]
        }
    assert queue["MessageRetentionPeriod"] == 3600 and dead["MessageRetentionPeriod"] <= 86400
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["ShadowDeadLetterQueue", "Arn"]},
        "maxReceiveCount": 2,
    }
    policy = SHADOW["ShadowQueuesPolicy"]["Properties"]
    assert policy["PolicyDocument"]["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_shadow_function_drains_the_queue_item_by_item_and_runs_the_named_candidate():
    props = RESOURCES["ShadowFunction"]["Properties"]
    assert props["ImageConfig"]["Command"] == ["functions.shadow.app.lambda_handler"]
    (event,) = props["Events"].values()
    assert event["Type"] == "SQS" and event["Properties"]["Queue"] == {"Fn::GetAtt": ["ShadowQueue", "Arn"]}
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["Environment"]["Variables"]["SHADOW_MODEL_VERSION"] == {"Ref": "ShadowModelVersion"}
    assert 6 * props["Timeout"] <= SHADOW["ShadowQueue"]["Properties"]["VisibilityTimeout"]


def test_an_alarm_fires_when_agreement_falls_below_the_parameter_and_the_dashboard_shows_both():
    alarm = SHADOW["ShadowAgreementAlarm"]["Properties"]
    assert (
        alarm["Threshold"] == {"Ref": "ShadowMinAgreement"}
        and alarm["ComparisonOperator"] == "LessThanThreshold"
    )
    expression = alarm["Metrics"][0]["Expression"]
    assert "AVG(ShadowAgreement)" in expression and "live_version, model_version, service" in expression
    passed = ROOT["Resources"]["ShadowScoring"]["Properties"]["Parameters"]
    assert passed["ShadowMinAgreement"] == {"Ref": "ShadowMinAgreement"}
    dashboard = NESTED["templates/monitoring.yaml"]["Resources"]["Dashboard"]["Properties"]["DashboardBody"]
    body = dashboard["Fn::Sub"]
    for metric in ("ShadowAgreement", "ShadowProbabilityChange", "ShadowFlipsToPositive", "ShadowLatency"):
        assert f'MetricName=\\"{metric}\\"' in body
    assert re.search(r'service=\\"api\\" MetricName=\\"InferenceLatency\\"', body)  # the live side beside it


def test_the_image_carries_no_candidate_unless_built_with_one():
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "ARG SHADOW_MODEL_SOURCE=container/no-shadow-model" in dockerfile
    assert f"COPY ${{SHADOW_MODEL_SOURCE}}/ {settings.IMAGE_SHADOW_MODEL_DIR}/" in dockerfile
    assert not (REPO / "container/no-shadow-model" / MANIFEST).exists()
    ignore = (REPO / ".dockerignore").read_text().splitlines()
    assert {"!build/shadow-model/", "!container/no-shadow-model/"} <= set(ignore)
    assert "--dest build/shadow-model" in (REPO / "Makefile").read_text()


def test_the_local_run_evaluates_the_condition_as_a_deployment_would():
    environment = {k: v for k, v in os.environ.items() if k != "SHADOW_MODEL_VERSION"}
    names = local.Resources(
        queue_urls={"ShadowQueue": "http://local/shadow", "JobsQueue": "http://local/jobs"}
    )
    with mock.patch.dict(os.environ, environment, clear=True):
        assert not local.condition(ON)
        assert names.environment("api")["SHADOW_QUEUE_URL"] == ""
        os.environ["SHADOW_MODEL_VERSION"] = "1.2.0"
        assert local.condition(ON)
        assert names.environment("api")["SHADOW_QUEUE_URL"] == "http://local/shadow"
        assert names.environment("shadow")["SHADOW_MODEL_VERSION"] == "1.2.0"
