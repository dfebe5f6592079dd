"""template.yaml passes SAM's validators and wires the functions as the service expects."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
from cfnlint.decode import cfn_yaml

REPO = Path(__file__).resolve().parents[2]
SAM = REPO / ".tools" / "sam" / "bin" / "sam"
TEMPLATE = cfn_yaml.load(str(REPO / "template.yaml"))
RESOURCES = TEMPLATE["Resources"]


@pytest.mark.skipif(not SAM.exists(), reason="SAM CLI not installed (make venv)")
@pytest.mark.parametrize("args", [[], ["--lint"]])
def test_sam_validate(args):
    result = subprocess.run(
        [str(SAM), "validate", "--region", "us-east-1", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={"SAM_CLI_TELEMETRY": "0", "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_functions_are_arm64_images_with_alias():
    functions = {k: v for k, v in RESOURCES.items() if v["Type"] == "AWS::Serverless::Function"}
    functions.pop("PreTrafficHookFunction")  # a few lines of boto3, packaged as a zip
    assert set(functions) == {"ApiFunction", "WorkerFunction", "BatchFunction"}
    assert TEMPLATE["Globals"]["Function"]["Architectures"] == ["arm64"]
    for name, function in functions.items():
        props = function["Properties"]
        assert props["PackageType"] == "Image", name
        assert props["AutoPublishAlias"] == "live", name
        assert function["Metadata"]["Dockerfile"] == "Dockerfile", name
        handler = props["ImageConfig"]["Command"][0]
        module = handler.rsplit(".", 1)[0].replace(".", "/") + ".py"
        assert (REPO / module).exists(), handler


def test_api_routes():
    events = RESOURCES["ApiFunction"]["Properties"]["Events"]
    routes = {(e["Properties"]["Method"], e["Properties"]["Path"]) for e in events.values()}
    assert {("POST", "/predict"), ("GET", "/health")} <= routes


def test_samconfig_has_dev_and_prod():
    config = tomllib.loads((REPO / "samconfig.toml").read_text())
    for env in ("dev", "prod"):
        assert config[env]["global"]["parameters"]["stack_name"] == f"imdb-sentiment-{env}"
        assert f"Stage={env}" in config[env]["deploy"]["parameters"]["parameter_overrides"]


def _refs(node) -> set[str]:
    """Every resource or parameter name a node refers to (Ref, GetAtt, and ${Name} in Sub)."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref":
                found.add(str(value).split(".")[0])
            elif key == "Fn::GetAtt":
                found.add(value[0] if isinstance(value, list) else str(value).split(".")[0])
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                found |= {name.split(".")[0] for name in re.findall(r"\$\{([^}!]+)\}", text)}
            found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found


KNOWN = (
    set(RESOURCES)
    | set(TEMPLATE["Parameters"])
    | {
        "AWS::Region",
        "AWS::AccountId",
        "AWS::Partition",
        "AWS::StackName",
        "AWS::URLSuffix",
        "AWS::NoValue",
        "ServerlessDeploymentApplication",  # made by SAM for DeploymentPreference
        "ApiFunctionAliaslive",  # made by SAM for AutoPublishAlias
    }
)
ALARMS = {k: v for k, v in RESOURCES.items() if v["Type"] == "AWS::CloudWatch::Alarm"}


def test_every_reference_resolves():
    assert _refs(RESOURCES) - KNOWN == set()


def test_every_alarm_notifies_the_topic_and_names_its_runbook():
    assert len(ALARMS) >= 14
    runbook_page = (REPO / "docs" / "runbook.md").read_text()
    for name, alarm in ALARMS.items():
        props = alarm["Properties"]
        assert props["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        assert props["OKActions"] == [{"Ref": "AlarmTopic"}], name
        runbook = re.search(r"runbook in [^,]+, (\w+)", props["AlarmDescription"]).group(1)
        assert f"`{runbook}`" in runbook_page, f"{name}: docs/runbook.md has no entry {runbook}"


def test_required_alarms_exist():
    for function in ("ApiFunction", "WorkerFunction", "BatchFunction"):
        for metric in ("Errors", "Throttles"):
            props = ALARMS[f"{function}{metric}Alarm"]["Properties"]
            assert props["MetricName"] == metric and props["Namespace"] == "AWS/Lambda"
    assert ALARMS["ApiLatencyP99Alarm"]["Properties"]["ExtendedStatistic"] == "p99"
    assert any("5xx" in str(m) for m in ALARMS["Api5xxRateAlarm"]["Properties"]["Metrics"])
    for queue_alarm, queue in (
        ("JobsDeadLetterAlarm", "JobsDeadLetterQueue"),
        ("BatchFailureQueueAlarm", "BatchFailureQueue"),
    ):
        assert queue in _refs(ALARMS[queue_alarm]["Properties"]["Dimensions"])
    for name, metric in (
        ("BatchRowErrorRateAlarm", "BatchRowErrorRate"),
        ("ConfidenceDriftAlarm", "MeanConfidence"),
        ("LabelDriftHighAlarm", "PositiveShare"),
        ("LabelDriftLowAlarm", "PositiveShare"),
    ):
        assert f"AVG({metric})" in ALARMS[name]["Properties"]["Metrics"][0]["Expression"]


def test_metrics_the_alarms_and_dashboard_read_are_emitted_by_the_code():
    emitted = set()
    for path in (REPO / "functions").rglob("*.py"):
        emitted |= set(re.findall(r'name="(\w+)"', path.read_text()))
    for path in (REPO / "layers").rglob("*.py"):
        emitted |= set(re.findall(r'name="(\w+)"', path.read_text()))
    body = RESOURCES["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    read = set(re.findall(r'MetricName=\\?"(\w+)\\?"', body))
    for alarm in ALARMS.values():
        read |= set(re.findall(r"AVG\((\w+)\)", str(alarm["Properties"].get("Metrics", ""))))
    assert read and read - {"ColdStart"} <= emitted


def test_dashboard_is_valid_json_with_the_required_widgets():
    body = RESOURCES["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    dashboard = json.loads(re.sub(r"\$\{[^}]+\}", "X", body))
    titles = " ".join(w["properties"]["title"] for w in dashboard["widgets"]).lower()
    for needed in (
        "requests",
        "latency",
        "errors",
        "cold starts",
        "label",
        "confidence",
        "batch",
        "dead letter",
    ):
        assert needed in titles


def test_canary_deployments_roll_back_on_alarms_and_run_the_hook():
    for function, parameter in (
        ("ApiFunction", "ApiDeploymentType"),
        ("WorkerFunction", "AsyncDeploymentType"),
        ("BatchFunction", "AsyncDeploymentType"),
    ):
        preference = RESOURCES[function]["Properties"]["DeploymentPreference"]
        assert preference["Type"] == {"Ref": parameter}
        assert preference["Alarms"] and all(a["Ref"] in ALARMS for a in preference["Alarms"])
    assert TEMPLATE["Parameters"]["ApiDeploymentType"]["Default"].startswith("Canary")
    hooks = RESOURCES["ApiFunction"]["Properties"]["DeploymentPreference"]["Hooks"]
    assert hooks == {"PreTraffic": {"Ref": "PreTrafficHookFunction"}}


def test_hook_may_only_invoke_the_api_function_versions():
    hook = RESOURCES["PreTrafficHookFunction"]["Properties"]
    assert hook["FunctionName"]["Fn::Sub"].startswith("CodeDeployHook_")
    assert hook["DeploymentPreference"] == {"Enabled": False}
    assert hook["Role"] == {"Fn::GetAtt": ["PreTrafficHookFunctionRole", "Arn"]}
    role = RESOURCES["PreTrafficHookFunctionRole"]["Properties"]
    statements = [s for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"]]
    actions = {
        tuple(sorted([s["Action"]] if isinstance(s["Action"], str) else s["Action"])) for s in statements
    }
    # Besides its own logs and traces, the hook may only invoke and report.
    assert actions - {
        ("logs:CreateLogStream", "logs:PutLogEvents"),
        ("xray:PutTelemetryRecords", "xray:PutTraceSegments"),
    } == {
        ("lambda:InvokeFunction",),
        ("codedeploy:PutLifecycleEventHookExecutionStatus",),
    }
    invoke = next(s for s in statements if s["Action"] == "lambda:InvokeFunction")
    assert invoke["Resource"] == {"Fn::Sub": "${ApiFunction.Arn}:*"}
    assert hook["Environment"]["Variables"]["TARGET_FUNCTION_VERSION"] == {"Ref": "ApiFunction.Version"}
