"""The local run's resources are the template's: same tables, queues, redrive policies, start rule,
state machine substitutions and function environments."""

from __future__ import annotations

import json
import re

import boto3

from local_run import fanout
from local_run.pollers import matches, object_created
from local_run.resources import (
    FUNCTIONS,
    START_RULES,
    Resources,
    local_name,
    parameter_default,
    resources_of,
    rule_pattern,
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
    for name, logical_id in FUNCTIONS.items():
        props = template()["Resources"][logical_id]["Properties"]
        declared = props["Environment"]["Variables"]  # its template's Globals and its own
        environment = aws.environment(name)
        assert set(environment) == set(declared), name
        assert all("Ref" not in value and "Fn::" not in value for value in environment.values())
    everything = aws.environment()
    assert everything["JOBS_QUEUE_URL"] == aws.jobs_queue_url
    assert everything["JOBS_TABLE"] == aws.jobs_table
    assert everything["DATA_BUCKET"] == aws.bucket
    assert everything["EVENT_BUS_NAME"] == aws.event_bus
    assert boto3.client("events").describe_event_bus(Name=aws.event_bus)["Name"] == aws.event_bus


def test_uploads_are_routed_by_size_as_the_templates_rules_say():
    minimum = int(parameter_default({"Ref": "FanoutMinBytes"}))
    fanout, batch = rule_pattern("FanoutStartRule"), rule_pattern("BatchStartRule")
    for pattern in (fanout, batch):
        assert (pattern["source"], pattern["detail-type"]) == (["aws.s3"], ["Object Created"])
        assert pattern["detail"]["bucket"]["name"] == [Resources.bucket]
        assert pattern["detail"]["object"]["key"] == fanout["detail"]["object"]["key"]
    assert fanout["detail"]["object"]["size"] == [{"numeric": [">=", minimum]}]
    assert batch["detail"]["object"]["size"] == [{"numeric": ["<", minimum]}]
    assert start_rule_patterns() == ["incoming/*.csv", "incoming/*.csv.gz"]
    rules = template()["Resources"]
    assert rules["FanoutStartRule"]["Properties"]["Targets"][0]["Arn"] == {"Ref": "FanoutStateMachine"}
    assert rules["BatchStartRule"]["Properties"]["Targets"][0]["Arn"] == {"Ref": "BatchFunctionAliaslive"}
    assert START_RULES == {"fanout": "FanoutStartRule", "batch": "BatchStartRule"}


def _upload(key: str, size: int) -> dict:
    record = {"s3": {"bucket": {"name": Resources.bucket}, "object": {"key": key, "size": size}}}
    return object_created(record)


def test_each_upload_matches_exactly_one_start_rule_on_each_side_of_the_threshold():
    minimum = int(parameter_default({"Ref": "FanoutMinBytes"}))
    fanout, batch = rule_pattern("FanoutStartRule"), rule_pattern("BatchStartRule")
    for key in ("incoming/a.csv", "incoming/team/b.csv.gz"):
        for size, target in ((0, batch), (minimum - 1, batch), (minimum, fanout), (50 * minimum, fanout)):
            upload = _upload(key, size)
            assert [matches(p, upload) for p in (fanout, batch)] == [target is fanout, target is batch]
    for key in ("scored/a.csv", "incoming/notes.txt", "incoming/a.csv.zip"):
        assert not any(matches(p, _upload(key, 10)) for p in (fanout, batch))
    upload = _upload("incoming/a.csv", 10)
    elsewhere = {**upload, "detail": {**upload["detail"], "bucket": {"name": "another-bucket"}}}
    assert not matches(batch, elsewhere)


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
