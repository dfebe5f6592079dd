"""The local run's resources are the template's: same tables, queues, redrive policies, start rule,
state machine substitutions and function environments."""

from __future__ import annotations

import json
import re

import boto3

from local_run import fanout
from local_run.resources import (
    FUNCTIONS,
    local_name,
    parameter_default,
    resources_of,
    start_rule_patterns,
    template,
)


def test_every_table_has_the_templates_keys_and_billing(aws):
    dynamodb = boto3.client("dynamodb")
    tables = resources_of("AWS::DynamoDB::Table")
    assert tables
    for logical_id, table in tables.items():
        local = dynamodb.describe_table(TableName=local_name(logical_id))["Table"]
        props = table["Properties"]
        assert local["KeySchema"] == props["KeySchema"]
        assert local["AttributeDefinitions"] == props["AttributeDefinitions"]
        assert local["BillingModeSummary"]["BillingMode"] == props["BillingMode"]


def test_every_queue_exists_with_the_templates_redrive_policy(aws):
    sqs = boto3.client("sqs")
    queues = resources_of("AWS::SQS::Queue")
    assert set(aws.queue_urls) == set(queues)
    for logical_id, queue in queues.items():
        attributes = sqs.get_queue_attributes(QueueUrl=aws.queue_urls[logical_id], AttributeNames=["All"])
        redrive = queue["Properties"].get("RedrivePolicy")
        if not redrive:
            assert "RedrivePolicy" not in attributes["Attributes"]
            continue
        local = json.loads(attributes["Attributes"]["RedrivePolicy"])
        assert local["maxReceiveCount"] == int(parameter_default(redrive["maxReceiveCount"]))
        target = aws.queue_urls[redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]]
        target_arn = sqs.get_queue_attributes(QueueUrl=target, AttributeNames=["QueueArn"])["Attributes"]
        assert local["deadLetterTargetArn"] == target_arn["QueueArn"]


def test_each_function_gets_exactly_the_templates_variables_resolved_locally(aws):
    globals_ = template()["Globals"]["Function"]["Environment"]["Variables"]
    for name, logical_id in FUNCTIONS.items():
        props = template()["Resources"][logical_id]["Properties"]
        own = props.get("Environment", {}).get("Variables", {})
        environment = aws.environment(name)
        assert set(environment) == set(globals_) | set(own), name
        assert all("Ref" not in value and "Fn::" not in value for value in environment.values())
    everything = aws.environment()
    assert everything["JOBS_QUEUE_URL"] == aws.jobs_queue_url
    assert everything["JOBS_TABLE"] == aws.jobs_table
    assert everything["DATA_BUCKET"] == aws.bucket
    assert everything["EVENT_BUS_NAME"] == aws.event_bus
    assert boto3.client("events").describe_event_bus(Name=aws.event_bus)["Name"] == aws.event_bus


def test_uploads_start_the_fanout_as_the_templates_rule_says():
    rule = template()["Resources"]["FanoutStartRule"]["Properties"]
    assert rule["EventPattern"]["source"] == ["aws.s3"]
    assert rule["Targets"][0]["Arn"] == {"Ref": "FanoutStateMachine"}
    assert start_rule_patterns() == ["incoming/*.csv", "incoming/*.csv.gz"]


def test_the_local_state_machine_fills_the_templates_substitutions():
    machine = template()["Resources"]["FanoutStateMachine"]["Properties"]
    substitutions = machine["DefinitionSubstitutions"]
    used = set(re.findall(r"\$\{(\w+)\}", (fanout.REPO / machine["DefinitionUri"]).read_text()))
    assert used == set(substitutions)
    for name, parameter in fanout.TEMPLATE_PARAMETERS.items():
        assert substitutions[name] == {"Ref": parameter}
    for name, function in fanout.FUNCTION_SUBSTITUTIONS.items():
        assert substitutions[name] == {"Ref": f"{FUNCTIONS[function]}Aliaslive"}
    json.loads(fanout.definition())  # every substitution filled: valid JSON
