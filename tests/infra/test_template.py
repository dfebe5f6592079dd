"""template.yaml and its nested stacks wire the functions, alarms, storage and logs as the service expects."""

from __future__ import annotations

import json
import re
import tomllib

import pytest

from tests.infra.cfn import BOOTSTRAP, NESTED, REPO, RESOURCES, ROOT, applications, of_type, refs

FUNCTIONS = of_type(RESOURCES, "AWS::Serverless::Function")
IMAGE_FUNCTIONS = {k: v for k, v in FUNCTIONS.items() if v["Properties"].get("PackageType") == "Image"}
PSEUDO = {
    "AWS::Region",
    "AWS::AccountId",
    "AWS::Partition",
    "AWS::StackName",
    "AWS::URLSuffix",
    "AWS::NoValue",
}
MONITORING = NESTED["templates/monitoring.yaml"]
FUNCTION_ALARMS = NESTED["templates/function-alarms.yaml"]


def test_functions_are_images_of_one_architecture_with_alias():
    assert set(IMAGE_FUNCTIONS) == {
        "ApiFunction",
        "WorkerFunction",
        "BatchFunction",
        "FanoutSplitFunction",
        "FanoutScoreFunction",
        "FanoutMergeFunction",
        "ShadowFunction",  # only where ShadowModelVersion is set (templates/shadow.yaml)
    }
    assert set(FUNCTIONS) - set(IMAGE_FUNCTIONS) == {"PreTrafficHookFunction"}  # a few lines of boto3, a zip
    assert ROOT["Globals"]["Function"]["Architectures"] == [{"Ref": "Architecture"}]
    assert ROOT["Parameters"]["Architecture"]["Default"] == "arm64"  # x86_64 only for sam local
    for name, function in IMAGE_FUNCTIONS.items():
        props = function["Properties"]
        assert props["AutoPublishAlias"] == "live", name
        assert function["Metadata"]["Dockerfile"] == "Dockerfile", name
        handler = props["ImageConfig"]["Command"][0]
        module = handler.rsplit(".", 1)[0].replace(".", "/") + ".py"
        assert (REPO / module).exists(), handler


def test_api_routes():
    events = RESOURCES["ApiFunction"]["Properties"]["Events"]
    routes = {(e["Properties"]["Method"], e["Properties"]["Path"]) for e in events.values()}
    assert {("POST", "/predict"), ("GET", "/health")} <= routes


def test_samconfig_stages_deploy_under_the_bootstrap_role_boundary():
    config = tomllib.loads((REPO / "samconfig.toml").read_text())
    prefix = BOOTSTRAP["Parameters"]["ApplicationStackPrefix"]["Default"]
    boundary = BOOTSTRAP["Outputs"]["RoleBoundaryPolicyName"]["Value"]["Fn::Sub"].replace(
        "${ApplicationStackPrefix}", prefix
    )
    for env in ("dev", "prod"):
        assert config[env]["global"]["parameters"]["stack_name"] == f"{prefix}-{env}"
        deploy = config[env]["deploy"]["parameters"]
        assert f"RoleBoundaryPolicy={boundary}" in deploy["parameter_overrides"].split()
        assert "CAPABILITY_AUTO_EXPAND" in deploy["capabilities"].split()  # the nested stacks


@pytest.mark.parametrize("name", ["template.yaml", *NESTED])
def test_every_reference_resolves_and_every_parameter_is_read(name):
    template = ROOT if name == "template.yaml" else NESTED[name]
    generated = {  # made by SAM
        "ServerlessDeploymentApplication",
        *(f"{function}Aliaslive" for function in IMAGE_FUNCTIONS),
    }
    known = set(template["Resources"]) | set(template["Parameters"]) | PSEUDO | generated
    body = {key: template.get(key, {}) for key in ("Resources", "Outputs", "Conditions", "Globals", "Rules")}
    used = refs(body)
    assert used - known == set()
    assert set(template["Parameters"]) - used == set(), "parameters nothing reads"
    conditions = set(re.findall(r"""['"](?:Fn::If|Condition)['"]: \[?['"](\w+)['"]""", json.dumps(body)))
    assert set(template.get("Conditions", {})) - conditions == set(), "conditions nothing uses"


@pytest.mark.parametrize("name", sorted(applications()))
def test_each_nested_stack_gets_exactly_the_parameters_its_template_declares(name):
    props, nested = applications()[name]
    declared = nested["Parameters"]
    required = {p for p, spec in declared.items() if "Default" not in spec}
    assert required <= set(props["Parameters"]) <= set(declared), name


def alarms() -> dict[str, tuple[dict, dict]]:
    """Every alarm, root and nested: name -> (its properties, the template it lives in)."""
    found = {}
    for template in (ROOT, *NESTED.values()):
        for name, alarm in of_type(template["Resources"], "AWS::CloudWatch::Alarm").items():
            found[name] = (alarm["Properties"], template)
    return found


def test_every_alarm_notifies_the_topic_and_names_its_runbook():
    assert len(alarms()) >= 10
    docs = (REPO / "README.md").read_text() + "".join(p.read_text() for p in REPO.glob("docs/**/*.md"))
    topic = {"Ref": "AlarmTopicArn"}  # each alarm stack's parameter: the topic stack's output
    for name, (props, _) in alarms().items():
        assert props["AlarmActions"] == [topic] and props["OKActions"] == [topic], name
        description = json.dumps(props["AlarmDescription"])
        runbooks = re.findall(r"runbook \$?\{?(\w+)\}?(\w*)", description)
        assert runbooks, f"{name} names no runbook entry"
        for prefix, suffix in runbooks:
            entries = [f"{p}{suffix}" for p in ("ApiFunction", "WorkerFunction", "BatchFunction")]
            for entry in entries if prefix == "Runbook" else [prefix + suffix]:
                assert f"`{entry}`" in docs, f"{name}: no runbook entry {entry}"
    for props, nested in applications().values():
        if "AlarmTopicArn" in nested["Parameters"]:
            assert props["Parameters"]["AlarmTopicArn"] == {"Fn::GetAtt": ["AlarmTopic", "Outputs.TopicArn"]}


def test_the_alarm_topic_is_encrypted_under_its_own_rotated_key_that_cloudwatch_may_use():
    props, nested = applications()["AlarmTopic"]
    resources = nested["Resources"]
    assert resources["AlarmTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "AlarmTopicKey"}
    key = resources["AlarmTopicKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    principals = [s["Principal"] for s in key["KeyPolicy"]["Statement"]]
    assert {"Service": "cloudwatch.amazonaws.com"} in principals
    assert props["Parameters"] == {"AlarmEmail": {"Ref": "AlarmEmail"}}


def test_every_function_gets_its_errors_and_throttles_alarms_from_the_shared_template():
    per_function = {
        props["Parameters"]["FunctionName"]["Ref"]: name
        for name, (props, nested) in applications().items()
        if nested is FUNCTION_ALARMS
    }
    assert set(per_function) == set(IMAGE_FUNCTIONS)
    for function, stack in per_function.items():
        assert applications()[stack][0]["Parameters"]["Runbook"] == function
        deployment_alarms = RESOURCES[function]["Properties"]["DeploymentPreference"]["Alarms"]
        for output in ("ErrorsAlarm", "ThrottlesAlarm"):
            assert {"Fn::GetAtt": [stack, f"Outputs.{output}"]} in deployment_alarms, function
    nested = FUNCTION_ALARMS["Resources"]
    assert {nested[a]["Properties"]["MetricName"] for a in nested} == {"Errors", "Throttles"}
    assert all(nested[a]["Properties"]["Namespace"] == "AWS/Lambda" for a in nested)


def test_required_service_alarms_exist():
    monitor = MONITORING["Resources"]
    assert monitor["ApiLatencyP99Alarm"]["Properties"]["ExtendedStatistic"] == "p99"
    assert any("5xx" in str(m) for m in monitor["Api5xxRateAlarm"]["Properties"]["Metrics"])
    passed = applications()["Monitoring"][0]["Parameters"]
    for alarm, parameter, queue in (
        ("JobsDeadLetterAlarm", "JobsDeadLetterQueueName", "JobsDeadLetterQueue"),
        ("BatchFailureQueueAlarm", "BatchFailureQueueName", "BatchFailureQueue"),
    ):
        assert parameter in refs(monitor[alarm]["Properties"]["Dimensions"])
        assert passed[parameter] == {"Fn::GetAtt": [queue, "QueueName"]}
    for name, metric in (
        ("BatchRowErrorRateAlarm", "BatchRowErrorRate"),  # in csv-files.yaml, beside the batch function
        ("ConfidenceDriftAlarm", "MeanConfidence"),
        ("LabelDriftHighAlarm", "PositiveShare"),
        ("LabelDriftLowAlarm", "PositiveShare"),
    ):
        assert f"AVG({metric})" in alarms()[name][0]["Metrics"][0]["Expression"]


def dashboard_body() -> str:
    return MONITORING["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]


def test_metrics_the_alarms_and_dashboard_read_are_emitted_by_the_code():
    emitted = set()
    for folder in ("functions", "layers"):
        for path in (REPO / folder).rglob("*.py"):
            emitted |= set(re.findall(r'name="(\w+)"', path.read_text()))
    read = set(re.findall(r'MetricName=\\?"(\w+)\\?"', dashboard_body()))
    for props, _ in alarms().values():
        read |= set(re.findall(r"AVG\((\w+)\)", str(props.get("Metrics", ""))))
    assert read and read - {"ColdStart"} <= emitted


def test_dashboard_is_valid_json_with_the_required_widgets():
    dashboard = json.loads(re.sub(r"\$\{[^}]+\}", "X", dashboard_body()))
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
    assert ROOT["Outputs"]["DashboardUrl"]["Value"]["Fn::Sub"].endswith("name=${AWS::StackName}")
    assert applications()["Monitoring"][0]["Parameters"]["DashboardName"] == {"Ref": "AWS::StackName"}


def test_canary_deployments_roll_back_on_alarms_and_run_the_hook():
    outputs = {(stack, f"Outputs.{o}") for stack, (_, t) in applications().items() for o in t["Outputs"]}
    for function, parameter in (
        ("ApiFunction", "ApiDeploymentType"),
        ("WorkerFunction", "AsyncDeploymentType"),
        ("BatchFunction", "AsyncDeploymentType"),
    ):
        preference = RESOURCES[function]["Properties"]["DeploymentPreference"]
        assert preference["Type"] == {"Ref": parameter}
        assert preference["Alarms"]
        for alarm in preference["Alarms"]:  # a nested stack's output, or an alarm beside the function
            assert tuple(alarm.get("Fn::GetAtt", ())) in outputs or alarm["Ref"] in alarms(), function
    assert ROOT["Parameters"]["ApiDeploymentType"]["Default"].startswith("Canary")
    hooks = RESOURCES["ApiFunction"]["Properties"]["DeploymentPreference"]["Hooks"]
    assert hooks == {"PreTraffic": {"Ref": "PreTrafficHookFunction"}}
    code_deploy = {"Fn::GetAtt": ["CodeDeployRole", "Arn"]}
    assert ROOT["Globals"]["Function"]["DeploymentPreference"] == {"Role": code_deploy}
    for props, nested in applications().values():  # a nested stack's functions: the role it is passed
        if "Globals" in nested:
            role = nested["Globals"]["Function"]["DeploymentPreference"]["Role"]
            assert role == {"Ref": "CodeDeployRoleArn"}
            assert props["Parameters"]["CodeDeployRoleArn"] == code_deploy


def test_hook_may_only_invoke_the_api_function_versions():
    hook = RESOURCES["PreTrafficHookFunction"]["Properties"]
    assert hook["FunctionName"]["Fn::Sub"].startswith("CodeDeployHook_")
    assert hook["DeploymentPreference"] == {"Enabled": False}
    assert hook["Role"] == {"Fn::GetAtt": ["PreTrafficHookFunctionRole", "Arn"]}
    (policy,) = RESOURCES["PreTrafficHookFunctionRole"]["Properties"]["Policies"]
    invoke = [s for s in policy["PolicyDocument"]["Statement"] if s.get("Action") == "lambda:InvokeFunction"]
    assert [s["Resource"] for s in invoke] == [{"Fn::Sub": "${ApiFunction.Arn}:*"}]
    assert hook["Environment"]["Variables"]["TARGET_FUNCTION_VERSION"] == {"Ref": "ApiFunction.Version"}


# ---------------------------------------------------------------- limits, failures, retries


def test_every_function_has_a_reserved_concurrency_and_async_ones_a_failure_destination():
    for name, function in FUNCTIONS.items():
        reserved = function["Properties"]["ReservedConcurrentExecutions"]
        if isinstance(reserved, dict):
            default = ROOT["Parameters"][reserved["Ref"]]["Default"]
            assert 0 < default <= 20 and ROOT["Parameters"][reserved["Ref"]]["MinValue"] >= 1, name
        elif name == "ShadowFunction":  # SQS polls at least 2 at once: reserving fewer would throttle
            scaling = function["Properties"]["Events"]["Sampled"]["Properties"]["ScalingConfig"]
            assert reserved == scaling["MaximumConcurrency"] == 2, name
        else:
            assert reserved == 1, name
    # S3 notifications and CodeDeploy hooks invoke asynchronously: a failure must land somewhere.
    for name in ("BatchFunction", "PreTrafficHookFunction"):
        on_failure = FUNCTIONS[name]["Properties"]["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
        assert on_failure["Destination"], name
    worker = FUNCTIONS["WorkerFunction"]["Properties"]
    assert (
        worker["ReservedConcurrentExecutions"]
        == worker["Events"]["Jobs"]["Properties"]["ScalingConfig"]["MaximumConcurrency"]
    )  # SQS never polls more environments than may run


def test_the_redrive_count_is_written_once_and_the_worker_reads_it():
    parameter = {"Ref": "JobsMaxReceiveCount"}
    assert RESOURCES["JobsQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"] == parameter
    assert (
        FUNCTIONS["WorkerFunction"]["Properties"]["Environment"]["Variables"]["MAX_RECEIVE_COUNT"]
        == parameter
    )
    assert ROOT["Parameters"]["JobsMaxReceiveCount"]["Default"] == 3
    readers = [
        path
        for folder in ("functions", "layers")
        for path in (REPO / folder).rglob("*.py")
        if re.search(r"""["']MAX_RECEIVE_COUNT["']""", path.read_text())
    ]
    assert readers, "nothing in the code reads MAX_RECEIVE_COUNT from the environment"


# ---------------------------------------------------------------- data at rest, access log


def test_data_bucket_keeps_overwritten_objects_for_the_noncurrent_days():
    props = RESOURCES["DataBucket"]["Properties"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    (rule,) = [r for r in props["LifecycleConfiguration"]["Rules"] if "NoncurrentVersionExpiration" in r]
    assert "Prefix" not in rule and rule["Status"] == "Enabled"
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": {"Ref": "NoncurrentVersionDays"}}
    assert ROOT["Parameters"]["NoncurrentVersionDays"]["Default"] == 7


def test_jobs_table_has_point_in_time_recovery():
    spec = RESOURCES["JobsTable"]["Properties"]["PointInTimeRecoverySpecification"]
    assert spec == {"PointInTimeRecoveryEnabled": True}


KMS = {"Fn::If": ["HasKmsKey", {"Ref": "KmsKeyArn"}, {"Ref": "AWS::NoValue"}]}


def test_one_kms_key_parameter_encrypts_everything_at_rest_when_set():
    assert ROOT["Parameters"]["KmsKeyArn"]["Default"] == ""  # AWS-managed keys unless named
    assert ROOT["Globals"]["Function"]["KmsKeyArn"] == KMS
    for name in of_type(RESOURCES, "AWS::SQS::Queue"):
        assert RESOURCES[name]["Properties"]["KmsMasterKeyId"] == KMS, name
    for name in of_type(RESOURCES, "AWS::DynamoDB::Table"):
        assert RESOURCES[name]["Properties"]["SSESpecification"]["KMSMasterKeyId"] == KMS, name
    for name in of_type(RESOURCES, "AWS::Logs::LogGroup"):
        assert RESOURCES[name]["Properties"]["KmsKeyId"] == KMS, name
    (bucket_rule,) = RESOURCES["DataBucket"]["Properties"]["BucketEncryption"][
        "ServerSideEncryptionConfiguration"
    ]
    assert bucket_rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"] == KMS


ACCESS_LOG = RESOURCES["HttpApi"]["Properties"]["AccessLogSettings"]
# $context variables that describe a request without carrying any of its content.
METADATA_VARIABLES = {
    "requestId",
    "requestTime",
    "routeKey",
    "status",
    "responseLatency",
    "integrationLatency",
    "responseLength",
    "identity.sourceIp",
    "protocol",
    "integrationErrorMessage",
}


def test_access_log_is_one_json_object_of_request_metadata_and_never_a_body():
    fmt = ACCESS_LOG["Format"]
    variables = re.findall(r"\$context\.([A-Za-z.]+)", fmt)
    assert set(variables) <= METADATA_VARIABLES
    assert "$request" not in fmt and "$input" not in fmt and "body" not in fmt.lower()
    # As API Gateway writes it for a request that carried a review: numbers unquoted, strings quoted.
    values = {"status": "502", "responseLatency": "41"}
    line = re.sub(r"\$context\.([A-Za-z.]+)", lambda m: values.get(m.group(1), "x"), fmt)
    record = json.loads(line)
    assert {"requestId", "routeKey", "status", "latencyMs", "sourceIp"} <= set(record)
    assert record["status"] == 502 and record["latencyMs"] == 41
    assert ACCESS_LOG["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    group = RESOURCES["ApiAccessLogGroup"]["Properties"]
    assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_5xx_answers_in_the_access_log_raise_an_alarm():
    monitor = MONITORING["Resources"]
    metric_filter = monitor["ApiAccessLog5xxFilter"]["Properties"]
    assert metric_filter["LogGroupName"] == {"Ref": "ApiAccessLogGroupName"}
    assert applications()["Monitoring"][0]["Parameters"]["ApiAccessLogGroupName"] == {
        "Ref": "ApiAccessLogGroup"
    }
    assert re.fullmatch(r"\{ \$\.status >= 500 \}", metric_filter["FilterPattern"])
    (transformation,) = metric_filter["MetricTransformations"]
    alarm = monitor["ApiAccessLog5xxAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == (
        transformation["MetricNamespace"],
        transformation["MetricName"],
    )
    assert '"status":$context.status' in ACCESS_LOG["Format"]  # a number, so `>= 500` can match it
