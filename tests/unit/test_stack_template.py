"""The templates read as one stack: nested parameters become what the root passes, names stay unique."""

from __future__ import annotations

from local_run.stack_template import REPO, deployed, load

NESTED = load(REPO / "templates" / "csv-files.yaml")


def test_a_nested_resource_reads_as_if_the_root_declared_it():
    resources = deployed()["Resources"]
    assert set(NESTED["Resources"]) <= set(resources)
    machine = resources["FanoutStateMachine"]["Properties"]
    assert machine["Name"] == {"Fn::Sub": "${AWS::StackName}-csv-fanout"}  # StackName: !Ref AWS::StackName
    assert machine["DefinitionSubstitutions"]["ChunkRows"] == {"Ref": "FanoutChunkRows"}  # a root parameter
    assert (REPO / machine["DefinitionUri"]).is_file()  # written relative to templates/
    merge = resources["FanoutMergeFunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert {
        "Effect": "Allow",
        "Action": "events:PutEvents",
        "Resource": {"Fn::GetAtt": ["FanoutEventBus", "Arn"]},
    } in merge


def test_a_nested_function_gets_its_own_templates_globals():
    variables = deployed()["Resources"]["FanoutScoreFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["EVENT_BUS_NAME"] == {"Ref": "FanoutEventBus"}
    assert variables["DATA_BUCKET"] == {"Ref": "DataBucket"}
    assert "JOBS_TABLE" not in variables  # a root Global: the nested stack does not inherit it
    worker = deployed()["Resources"]["WorkerFunction"]["Properties"]["Environment"]["Variables"]
    assert worker["JOBS_TABLE"] == {"Ref": "JobsTable"}  # job-worker.yaml's Globals: passed by the root


def test_a_template_used_once_per_function_keeps_each_copy_under_its_stack():
    resources = deployed()["Resources"]
    for stack in ("ApiFunctionAlarms", "FanoutScoreFunctionAlarms"):
        alarm = resources[f"{stack}.ErrorsAlarm"]["Properties"]
        assert alarm["Dimensions"][0]["Value"]["Ref"] in {"ApiFunction", "FanoutScoreFunction"}
    assert "ErrorsAlarm" not in resources
    topic = resources["AlarmTopic.AlarmTopic"]["Properties"]  # "AlarmTopic" is the stack's own name
    assert topic["KmsMasterKeyId"] == {"Ref": "AlarmTopic.AlarmTopicKey"}
