"""The owner's caps reach the functions that enforce them, and no hopeless file is paid for twice."""

from __future__ import annotations

import json
import re

import pytest

from local_run.fanout import DEFINITION
from local_run.resources import async_retries
from sentiment_core import settings
from tests.infra.cfn import RESOURCES, ROOT

CAPS = {  # parameter -> (variable, default in the settings module)
    "MaxFileBytes": ("MAX_FILE_BYTES", settings.DEFAULT_MAX_FILE_BYTES),
    "MaxFileRows": ("MAX_FILE_ROWS", settings.DEFAULT_MAX_FILE_ROWS),
    "MaxFileCostUsd": ("MAX_FILE_COST_USD", settings.DEFAULT_MAX_FILE_COST_USD),
    "MaxExpansionRatio": ("MAX_EXPANSION_RATIO", settings.DEFAULT_MAX_EXPANSION_RATIO),
}
# Which function reads which cap: the cost is estimated by the split only, after it counts the rows.
READERS = {
    "BatchFunction": {"MaxFileBytes", "MaxFileRows", "MaxExpansionRatio"},
    "FanoutSplitFunction": set(CAPS),
}
TIMEOUTS = {"Sandbox.Timedout", "States.Timeout"}


def variables(function: str) -> dict:
    return RESOURCES[function]["Properties"]["Environment"]["Variables"]


@pytest.mark.parametrize("parameter", sorted(CAPS))
def test_each_cap_is_a_parameter_whose_default_is_the_settings_default(parameter):
    declared = ROOT["Parameters"][parameter]
    assert declared["Type"] == "Number" and float(declared["Default"]) == CAPS[parameter][1]
    assert declared["Description"]


@pytest.mark.parametrize("function", sorted(READERS))
def test_the_functions_that_enforce_a_cap_read_it(function):
    for parameter in READERS[function]:
        assert variables(function)[CAPS[parameter][0]] == {"Ref": parameter}
    assert not {CAPS[p][0] for p in set(CAPS) - READERS[function]} & set(variables(function))


def test_the_batch_function_routes_gzip_by_the_fanouts_own_threshold_and_can_hand_off():
    assert variables("BatchFunction")["FANOUT_MIN_BYTES"] == {"Ref": "FanoutMinBytes"}
    assert variables("BatchFunction")["FANOUT_STATE_MACHINE_ARN"] == {"Ref": "FanoutStateMachine"}


def test_a_failed_batch_invocation_is_never_run_again_and_its_event_is_kept():
    config = RESOURCES["BatchFunction"]["Properties"]["EventInvokeConfig"]
    assert config["MaximumRetryAttempts"] == 0  # a timeout would repeat 15 minutes of work
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["BatchFailureQueue", "Arn"]
    }
    assert async_retries("BatchFunction") == 0  # and the local run retries as deployed


@pytest.mark.parametrize(
    "rule,suffix", [("BatchStartRule", "batch-start"), ("FanoutStartRule", "fanout-start")]
)
def test_each_start_rule_retries_its_delivery_for_an_hour_then_dead_letters(rule, suffix):
    props = RESOURCES[rule]["Properties"]
    (target,) = props["Targets"]
    assert target["RetryPolicy"]["MaximumEventAgeInSeconds"] <= 3600
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["BatchFailureQueue", "Arn"]}}
    assert props["Name"] == {"Fn::Sub": f"${{AWS::StackName}}-{suffix}"}
    # The queue's policy lets exactly these rules leave an event there.
    (allow,) = [
        s
        for s in RESOURCES["QueuesPolicy"]["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Allow"
    ]
    assert allow["Principal"] == {"Service": "events.amazonaws.com"} and allow["Action"] == "sqs:SendMessage"
    account = "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}"
    arn = f"{account}:rule/${{AWS::StackName}}-{suffix}"
    assert {"Fn::Sub": arn} in allow["Condition"]["ArnEquals"]["aws:SourceArn"]


def tasks(states: dict) -> dict[str, dict]:
    found = {}
    for name, state in states.items():
        if state["Type"] == "Task":
            found[name] = state
        if "ItemProcessor" in state:
            found |= tasks(state["ItemProcessor"]["States"])
    return found


def test_no_task_of_the_state_machine_retries_a_timeout():
    definition = json.loads(re.sub(r"\$\{\w+\}", "1", DEFINITION.read_text()))
    for name, task in tasks(definition["States"]).items():
        retries = task.get("Retry", [])
        for position, retry in enumerate(retries):
            if TIMEOUTS & set(retry["ErrorEquals"]) or "States.ALL" in retry["ErrorEquals"]:
                # Retriers are tried in order: the first that names a timeout (or all errors) decides.
                assert set(retry["ErrorEquals"]) == TIMEOUTS and retry["MaxAttempts"] == 0, (name, position)
                break
