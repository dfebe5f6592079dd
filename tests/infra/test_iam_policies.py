"""Least privilege, checked on every template and on what SAM makes of the root (what CloudFormation deploys).

- A `*` in any policy's action, resource or principal must carry a `# why` comment on its line, except
  an object-key wildcard under a fixed prefix of the stack's own bucket (that is the scoping itself).
  Root, nested and release templates alike.
- No role carries an AWS managed policy or a SAM-generated statement, except CodeDeploy's own service role.
- Each function's grants are exactly the table below, and the S3 prefixes in it are the ones the code uses.
- Every role takes the permissions boundary, and the boundary allows everything the roles are granted.
- The release stack's execution role creates roles only under that boundary and passes only the stacks' roles.
- Every API route is behind the authorizer ApiAuthorizer picks.
"""

from __future__ import annotations

import copy
import fnmatch
import functools
import importlib
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from sentiment_core.adapters import uploads
from sentiment_core.adapters.jobs import JobStore
from tests.infra.cfn import (
    ALL_PATHS,
    BOOTSTRAP,
    REPO,
    RESOURCES,
    ROOT,
    ROOT_PATH,
    SAM_PATHS,
    as_list,
    load,
    of_type,
    statements,
)

RAW = ROOT
DATA_BUCKET_ARN = "arn:${AWS::Partition}:s3:::${AWS::StackName}-data-${AWS::AccountId}"
# The same bucket in a nested template, which is passed its name (templates/job-worker.yaml, csv-files.yaml).
PASSED_BUCKET_ARN = "arn:${AWS::Partition}:s3:::${DataBucket}"
POLICY_FIELDS = ("Action", "NotAction", "Resource", "NotResource", "Principal", "NotPrincipal")

# AWS managed policies a role may carry, each with the reason.
ALLOWED_MANAGED_POLICIES = {
    # CodeDeploy's service role for DeploymentPreference: assumed by codedeploy.amazonaws.com (not by
    # our code) to move the `live` aliases and read the alarms.
    "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSCodeDeployRoleForLambda": "CodeDeployRole",
}


class _NoManagedPolicies:
    def load(self) -> dict:
        return {}


@functools.cache
def transformed(path: Path = ROOT_PATH) -> dict:
    """A template after the AWS::Serverless transform, as CloudFormation receives it."""
    from samtranslator.translator.transform import transform

    template = json.loads(json.dumps(load(path)))
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":  # sam build/package fill these in
            props = resource["Properties"]
            if props.get("PackageType") == "Image":
                props["ImageUri"] = "123456789012.dkr.ecr.us-east-1.amazonaws.com/imdb-sentiment:built"
            else:
                props["CodeUri"] = "s3://bucket/built.zip"
        if resource["Type"] == "AWS::Serverless::StateMachine":  # sam package uploads the definition
            resource["Properties"]["DefinitionUri"] = "s3://bucket/definition.asl.json"
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    return transform(template, {}, _NoManagedPolicies())


def policy_documents(node: Any) -> list[dict]:
    """Every IAM policy document in a resource tree (role policies, bucket and queue policies)."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("PolicyDocument", "AssumeRolePolicyDocument", "KeyPolicy") and isinstance(value, dict):
                found.append(value)
            else:
                found += policy_documents(value)
    elif isinstance(node, list):
        for value in node:
            found += policy_documents(value)
    return found


def plain_statements(document: dict) -> list[dict]:
    """The statements; a conditional one (Fn::If, e.g. the KmsKeyArn grant) as deployed when true."""
    found = []
    for statement in statements(document):
        if "Fn::If" in statement:
            statement = statement["Fn::If"][1]
        found.append(statement)
    return found


def strings_with_lines(node: Any, line: int | None = None) -> list[tuple[str, int | None]]:
    """(text, template line) of every string in a policy field, Fn::Sub templates included."""
    mark = getattr(node, "start_mark", None)
    line = mark.line if mark is not None else line
    if isinstance(node, str):
        return [(str(node), line)]
    if isinstance(node, dict):
        return [item for value in node.values() for item in strings_with_lines(value, line)]
    if isinstance(node, list):
        return [item for value in node for item in strings_with_lines(value, line)]
    return []


def scoped_object_wildcard(text: str) -> bool:
    """arn:...:s3:::<this stack's data bucket>/<fixed prefix>/...*...: keys under one prefix, not a bucket."""
    text = text.replace(PASSED_BUCKET_ARN, DATA_BUCKET_ARN)
    if not text.startswith(DATA_BUCKET_ARN + "/"):
        return False
    key = text[len(DATA_BUCKET_ARN) + 1 :]
    prefix = key.split("*", 1)[0]
    return "/" in prefix and not prefix.startswith("/")


def name_prefix_wildcard(text: str) -> bool:
    """A release-stack ARN whose wildcard follows the application stacks' name prefix (<prefix>-*)."""
    return "${ApplicationStackPrefix}" in text.split("*", 1)[0]


def justified(lines: list[str], line: int | None) -> bool:
    if line is None:
        return False
    comment = lines[line].split(" #", 1)[1] if " #" in lines[line] else ""
    return len(comment.strip()) >= 10


def wildcards(resources: dict) -> list[tuple[str, str, str, int | None]]:
    found = []
    for name, resource in resources.items():
        for document in policy_documents(resource.get("Properties", {})):
            for statement in plain_statements(document):
                for field in POLICY_FIELDS:
                    for text, line in strings_with_lines(statement.get(field)):
                        if "*" in text:
                            found.append((name, field, text, line))
    return found


def test_the_check_finds_wildcards_and_tells_justified_from_not():
    lines = (REPO / "template.yaml").read_text().splitlines()
    found = wildcards(RAW["Resources"])
    assert any(text == "*" and field == "Resource" for _, field, text, _ in found)  # X-Ray, justified
    assert scoped_object_wildcard(DATA_BUCKET_ARN + "/jobs/*/request.json")
    assert not scoped_object_wildcard(DATA_BUCKET_ARN + "/*")
    assert not scoped_object_wildcard("arn:${AWS::Partition}:s3:::*/incoming/*")
    assert name_prefix_wildcard("arn:aws:sqs:r:a:${ApplicationStackPrefix}-*")
    assert not name_prefix_wildcard("arn:aws:sqs:r:a:*${ApplicationStackPrefix}")
    unjustified = [line for line, text in enumerate(lines) if text.strip().startswith("Resources:")]
    assert not justified(lines, unjustified[0])


@pytest.mark.parametrize("path", ALL_PATHS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_wildcard_in_a_policy_is_scoped_or_justified_in_a_comment(path: Path):
    lines = path.read_text().splitlines()
    problems = [
        f"{name}.{field} {text!r} (line {line + 1 if line is not None else '?'})"
        for name, field, text, line in wildcards(load(path)["Resources"])
        if not (field == "Resource" and (scoped_object_wildcard(text) or name_prefix_wildcard(text)))
        and not justified(lines, line)
    ]
    assert problems == [], "a '*' needs a '# why' comment on its line:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", SAM_PATHS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_the_deployed_template_adds_no_managed_policy_or_generated_role(path: Path):
    written = load(path)["Resources"]
    deployed = transformed(path)["Resources"]
    roles = {k: v for k, v in deployed.items() if v["Type"].startswith("AWS::IAM::")}
    assert set(roles) == set(of_type(written, "AWS::IAM::Role")), "SAM generated a role"
    for name, role in roles.items():
        for arn in role["Properties"].get("ManagedPolicyArns", []):
            text = arn["Fn::Sub"] if isinstance(arn, dict) else arn
            assert ALLOWED_MANAGED_POLICIES.get(text) == name, f"{name} carries {arn}"
    for name, resource in deployed.items():
        if resource["Type"] == "AWS::Lambda::Function":
            role = resource["Properties"]["Role"]
            assert role["Fn::GetAtt"][0] in written, f"{name} runs with a role SAM generated"
        if resource["Type"] == "AWS::CodeDeploy::DeploymentGroup":
            role = resource["Properties"]["ServiceRoleArn"]
            assert role in ({"Fn::GetAtt": ["CodeDeployRole", "Arn"]}, {"Ref": "CodeDeployRoleArn"}), name


def resource_name(node: Any) -> str:
    if isinstance(node, dict) and "Fn::GetAtt" in node:
        target = node["Fn::GetAtt"]
        return target[0] if isinstance(target, list) else str(target).split(".")[0]
    if isinstance(node, dict) and "Fn::Sub" in node:
        text = node["Fn::Sub"] if isinstance(node["Fn::Sub"], str) else node["Fn::Sub"][0]
        return text.replace(PASSED_BUCKET_ARN, DATA_BUCKET_ARN).replace(DATA_BUCKET_ARN + "/", "data:")
    if isinstance(node, dict) and "Ref" in node:
        return node["Ref"]
    return str(node)


def grants(role: str) -> set[tuple[str, str]]:
    found = set()
    for policy in RESOURCES[role]["Properties"]["Policies"]:
        for statement in plain_statements(policy["PolicyDocument"]):
            assert statement["Effect"] == "Allow"
            found |= {
                (a, resource_name(r))
                for a in as_list(statement["Action"])
                for r in as_list(statement["Resource"])
            }
    return found


def own_logs_traces_and_key(log_group: str) -> set[tuple[str, str]]:
    return {
        ("logs:CreateLogStream", log_group),
        ("logs:PutLogEvents", log_group),
        ("xray:PutTraceSegments", "*"),
        ("xray:PutTelemetryRecords", "*"),
        ("kms:Decrypt", "KmsKeyArn"),  # only when KmsKeyArn is set (Fn::If)
        ("kms:GenerateDataKey", "KmsKeyArn"),
    }


STATES = "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}"
EXPECTED = {
    "ApiFunctionRole": own_logs_traces_and_key("ApiLogGroup")
    | {
        ("s3:PutObject", "data:jobs/*/request.json"),
        ("s3:GetObject", "data:jobs/*/result.json"),
        ("dynamodb:PutItem", "JobsTable"),
        ("dynamodb:GetItem", "JobsTable"),
        ("dynamodb:UpdateItem", "JobsTable"),
        ("sqs:SendMessage", "JobsQueue"),
        # Upload forms and links are signed with the role, and GET /files reads a file's outputs.
        ("s3:PutObject", "data:incoming/*"),
        ("s3:PutObject", "data:uploads/*"),
        ("s3:GetObject", "data:uploads/*"),
        ("s3:GetObject", "data:scored/*"),
        ("s3:ListBucket", "arn:${AWS::Partition}:s3:::${AWS::StackName}-data-${AWS::AccountId}"),
        ("sqs:SendMessage", "ShadowScoring"),  # the shadow queue, only where ShadowModelVersion is set
    },
    "ShadowFunctionRole": own_logs_traces_and_key("ShadowLogGroup")
    | {
        ("sqs:ReceiveMessage", "ShadowQueue"),
        ("sqs:DeleteMessage", "ShadowQueue"),
        ("sqs:GetQueueAttributes", "ShadowQueue"),
    },
    "WorkerFunctionRole": own_logs_traces_and_key("WorkerLogGroup")
    | {
        ("sqs:ReceiveMessage", "JobsQueue"),
        ("sqs:DeleteMessage", "JobsQueue"),
        ("sqs:GetQueueAttributes", "JobsQueue"),
        ("s3:GetObject", "data:jobs/*/request.json"),
        ("s3:PutObject", "data:jobs/*/result.json"),
        ("dynamodb:UpdateItem", "JobsTable"),
        ("dynamodb:GetItem", "IdempotencyTable"),
        ("dynamodb:PutItem", "IdempotencyTable"),
        ("dynamodb:UpdateItem", "IdempotencyTable"),
        ("dynamodb:DeleteItem", "IdempotencyTable"),
        ("events:PutEvents", "FanoutEventBus"),
    },
    "BatchFunctionRole": own_logs_traces_and_key("BatchLogGroup")
    | {
        ("s3:GetObject", "data:incoming/*"),
        ("s3:PutObject", "data:scored/*"),
        ("s3:DeleteObject", "data:scored/*"),
        ("s3:AbortMultipartUpload", "data:scored/*"),
        ("sqs:SendMessage", "BatchFailureQueue"),
        ("events:PutEvents", "FanoutEventBus"),
        ("states:StartExecution", "FanoutStateMachine"),  # hands a file it cannot finish to the fan-out
    },
    "PreTrafficHookFunctionRole": own_logs_traces_and_key("PreTrafficHookLogGroup")
    | {
        ("lambda:InvokeFunction", "${ApiFunction.Arn}:*"),
        (
            "codedeploy:PutLifecycleEventHookExecutionStatus",
            "arn:${AWS::Partition}:codedeploy:${AWS::Region}:${AWS::AccountId}:deploymentgroup:"
            "${ServerlessDeploymentApplication}/*",
        ),
        ("sns:Publish", "AlarmTopic"),  # its on-failure destination, under the topic's own key
        ("kms:Decrypt", "AlarmTopic"),
        ("kms:GenerateDataKey", "AlarmTopic"),
    },
    "FanoutSplitFunctionRole": own_logs_traces_and_key("FanoutSplitLogGroup")
    | {
        ("s3:GetObject", "data:incoming/*"),
        ("s3:GetObject", "data:fanout/*"),
        ("s3:PutObject", "data:fanout/*"),
        ("s3:DeleteObject", "data:fanout/*"),  # the staged copy of a rejected .csv.gz
        ("s3:AbortMultipartUpload", "data:fanout/*"),
        ("s3:PutObject", "data:scored/*"),
        ("s3:DeleteObject", "data:scored/*"),
        ("events:PutEvents", "FanoutEventBus"),
    },
    "FanoutScoreFunctionRole": own_logs_traces_and_key("FanoutScoreLogGroup")
    | {
        ("s3:GetObject", "data:incoming/*"),
        ("s3:GetObject", "data:fanout/*"),
        ("s3:PutObject", "data:fanout/*"),
        ("s3:PutObject", "data:scored/*.status.json"),
        ("s3:ListBucket", "arn:${AWS::Partition}:s3:::${AWS::StackName}-data-${AWS::AccountId}"),
    },
    "FanoutMergeFunctionRole": own_logs_traces_and_key("FanoutMergeLogGroup")
    | {
        ("s3:GetObject", "data:incoming/*"),
        ("s3:GetObject", "data:fanout/*"),
        ("s3:DeleteObject", "data:fanout/*"),
        ("s3:ListBucket", "arn:${AWS::Partition}:s3:::${AWS::StackName}-data-${AWS::AccountId}"),
        ("s3:PutObject", "data:scored/*"),
        ("s3:DeleteObject", "data:scored/*"),
        ("s3:AbortMultipartUpload", "data:scored/*"),
        ("events:PutEvents", "FanoutEventBus"),
    },
    # The state machine: its three functions, the chunk list, and the Distributed Map's child executions.
    "FanoutStateMachineRole": {
        ("kms:Decrypt", "KmsKeyArn"),
        ("kms:GenerateDataKey", "KmsKeyArn"),
        ("lambda:InvokeFunction", "FanoutSplitFunctionAliaslive"),
        ("lambda:InvokeFunction", "FanoutScoreFunctionAliaslive"),
        ("lambda:InvokeFunction", "FanoutMergeFunctionAliaslive"),
        ("s3:GetObject", "data:fanout/*"),
        ("states:StartExecution", f"{STATES}:stateMachine:${{AWS::StackName}}-csv-fanout"),
        ("states:DescribeExecution", f"{STATES}:execution:${{AWS::StackName}}-csv-fanout/*"),
        ("states:StopExecution", f"{STATES}:execution:${{AWS::StackName}}-csv-fanout/*"),
    },
    # EventBridge: starts the state machine for an upload, nothing else.
    "FanoutStartRole": {("states:StartExecution", "FanoutStateMachine")},
}
FUNCTIONS = {
    "ApiFunction": ("ApiFunctionRole", "ApiLogGroup"),
    "WorkerFunction": ("WorkerFunctionRole", "WorkerLogGroup"),
    "BatchFunction": ("BatchFunctionRole", "BatchLogGroup"),
    "PreTrafficHookFunction": ("PreTrafficHookFunctionRole", "PreTrafficHookLogGroup"),
    "FanoutSplitFunction": ("FanoutSplitFunctionRole", "FanoutSplitLogGroup"),
    "FanoutScoreFunction": ("FanoutScoreFunctionRole", "FanoutScoreLogGroup"),
    "FanoutMergeFunction": ("FanoutMergeFunctionRole", "FanoutMergeLogGroup"),
    "ShadowFunction": ("ShadowFunctionRole", "ShadowLogGroup"),
}


def test_every_function_and_every_role_is_in_the_table():
    assert set(FUNCTIONS) == set(of_type(RESOURCES, "AWS::Serverless::Function"))
    assert set(of_type(RESOURCES, "AWS::IAM::Role")) == {*EXPECTED, "CodeDeployRole"}


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_each_function_may_touch_exactly_its_own_resources(function):
    role, log_group = FUNCTIONS[function]
    props = RESOURCES[function]["Properties"]
    assert props["Role"] == {"Fn::GetAtt": [role, "Arn"]}
    assert "Policies" not in props  # a SAM policy would add grants outside this table
    assert props["LoggingConfig"]["LogGroup"] == {"Ref": log_group}
    assert grants(role) == EXPECTED[role]
    trust = statements(RESOURCES[role]["Properties"]["AssumeRolePolicyDocument"])
    assert [(s["Principal"], s["Action"]) for s in trust] == [
        ({"Service": "lambda.amazonaws.com"}, "sts:AssumeRole")
    ]


@pytest.fixture(scope="module")
def batch():
    return importlib.import_module("functions.batch.app")


def test_the_granted_prefixes_are_the_ones_the_code_uses(batch):
    bucket_name = RAW["Resources"]["DataBucket"]["Properties"]["BucketName"]["Fn::Sub"]
    assert f"arn:${{AWS::Partition}}:s3:::{bucket_name}" == DATA_BUCKET_ARN  # the stack's own bucket
    api, worker, scorer = (grants(r) for r in ("ApiFunctionRole", "WorkerFunctionRole", "BatchFunctionRole"))

    def allowed(granted: set[tuple[str, str]], action: str, key: str) -> bool:
        return any(a == action and fnmatch.fnmatchcase(f"data:{key}", r) for a, r in granted)

    request, result = JobStore.request_key("0f1e"), JobStore.result_key("0f1e")
    assert allowed(api, "s3:PutObject", request) and allowed(api, "s3:GetObject", result)
    assert not allowed(api, "s3:GetObject", request)  # the API never reads texts back
    assert allowed(worker, "s3:GetObject", request) and allowed(worker, "s3:PutObject", result)
    assert not allowed(worker, "s3:PutObject", request)
    incoming = f"{batch.INCOMING}team/x.csv"
    assert allowed(scorer, "s3:GetObject", incoming)
    for key in batch.output_keys(incoming).values():
        assert allowed(scorer, "s3:PutObject", key) and allowed(scorer, "s3:DeleteObject", key)
    assert not allowed(scorer, "s3:PutObject", incoming)  # cannot write where analysts drop files
    assert not allowed(scorer, "s3:GetObject", request)  # nor read job texts

    # The API signs upload forms for incoming/<id>/<name> and links to a file's outputs, and no more.
    file_id, name = "0f1e", "reviews.csv.gz"
    assert allowed(api, "s3:PutObject", uploads.incoming_key(file_id, name))
    assert allowed(api, "s3:PutObject", uploads.marker_key(file_id))
    assert allowed(api, "s3:GetObject", uploads.marker_key(file_id))
    for key in uploads.output_keys(file_id, name).values():
        assert allowed(api, "s3:GetObject", key) and not allowed(api, "s3:PutObject", key)
    assert not allowed(api, "s3:GetObject", uploads.incoming_key(file_id, name))  # never reads a file
    (listing,) = [
        s
        for p in RESOURCES["ApiFunctionRole"]["Properties"]["Policies"]
        for s in plain_statements(p["PolicyDocument"])
        if s["Action"] == "s3:ListBucket"
    ]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": f"{uploads.SCORED}*"}}


# ---------------------------------------------------------------- the permissions boundary

BOUNDARY_PARAMETER = {
    "Fn::If": [
        "HasRoleBoundary",
        {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/${RoleBoundaryPolicy}"},
        {"Ref": "AWS::NoValue"},
    ]
}
EXECUTION_ROLE = BOOTSTRAP["Resources"]["CloudFormationExecutionRole"]["Properties"]
BOUNDARY = BOOTSTRAP["Resources"]["RoleBoundary"]["Properties"]


def execution_statements() -> dict[str, dict]:
    (policy,) = EXECUTION_ROLE["Policies"]
    return {s["Sid"]: s for s in statements(policy["PolicyDocument"])}


def test_every_role_of_the_stack_takes_the_boundary_the_release_stack_makes():
    for name, role in of_type(RESOURCES, "AWS::IAM::Role").items():
        assert role["Properties"]["PermissionsBoundary"] == BOUNDARY_PARAMETER, name
    assert BOUNDARY["ManagedPolicyName"] == {"Fn::Sub": "${ApplicationStackPrefix}-role-boundary"}


def test_the_boundary_allows_every_action_the_functions_roles_are_granted():
    bounded = {
        a
        for s in statements(BOUNDARY["PolicyDocument"])
        if s["Effect"] == "Allow"
        for a in as_list(s["Action"])
    }
    granted = {action for role in EXPECTED for action, _ in grants(role)}
    assert granted - bounded == set()  # a grant outside the boundary would fail at run time
    # ... and what CodeDeploy's managed policy does for a Lambda deployment.
    assert {"lambda:UpdateAlias", "lambda:GetAlias", "cloudwatch:DescribeAlarms", "sns:Publish"} <= bounded


def test_the_execution_role_creates_roles_only_under_the_boundary_and_passes_only_theirs():
    by_sid = execution_statements()
    iam = {sid: s for sid, s in by_sid.items() if any(a.startswith("iam:") for a in as_list(s["Action"]))}
    assert not any(a == "iam:*" for s in iam.values() for a in as_list(s["Action"]))
    # Every action that writes a role's permissions requires the boundary on that role.
    writes = {"iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:PutRolePermissionsBoundary"}
    for sid, statement in iam.items():
        if writes & set(as_list(statement["Action"])):
            condition = statement["Condition"]["StringEquals"]["iam:PermissionsBoundary"]
            assert condition == {"Ref": "RoleBoundary"}, sid
        for action in as_list(statement["Action"]):
            assert action != "iam:DeleteRolePermissionsBoundary", sid  # never lifted
    pass_role = by_sid["PassStackRoles"]
    assert as_list(pass_role["Action"]) == ["iam:PassRole"]
    assert sum("iam:PassRole" in as_list(s["Action"]) for s in iam.values()) == 1
    assert pass_role["Resource"]["Fn::Sub"].endswith(":role/${ApplicationStackPrefix}-*")
    services = pass_role["Condition"]["StringEquals"]["iam:PassedToService"]
    assert set(services) <= {
        "lambda.amazonaws.com",
        "codedeploy.amazonaws.com",
        "states.amazonaws.com",
        "events.amazonaws.com",  # the rule that starts the CSV fan-out
    }
    for sid, statement in iam.items():
        for resource in as_list(statement["Resource"]):
            text = resource["Fn::Sub"]
            assert ":role/${ApplicationStackPrefix}-" in text or ":role/aws-service-role/" in text, sid


def test_the_execution_role_names_the_stacks_resources_by_their_prefix():
    for sid, statement in execution_statements().items():
        for resource in as_list(statement["Resource"]):
            text = resource.get("Fn::Sub", "") if isinstance(resource, dict) else resource
            if text == "*":
                assert "Condition" in statement or sid in {"AccessLogDelivery", "AlarmTopicKey"}, sid
            elif isinstance(resource, dict) and "Fn::GetAtt" in resource:
                continue  # this stack's own repository or bucket
            else:
                generated = (
                    ":key/*" in text or ":/apis" in text or ":/tags/" in text or "CodeDeployDefault" in text
                )
                if ":role/aws-service-role/" in text:  # held to named services by its condition
                    generated = "iam:AWSServiceName" in statement["Condition"]["StringEquals"]
                assert name_prefix_wildcard(text) or generated or "${ArtifactsBucket.Arn}" in text, (
                    sid,
                    text,
                )


def test_the_stacks_names_start_with_the_prefix_the_execution_role_is_scoped_to():
    import tomllib

    prefix = BOOTSTRAP["Parameters"]["ApplicationStackPrefix"]["Default"]
    config = tomllib.loads((REPO / "samconfig.toml").read_text())
    for stage in ("dev", "prod"):
        assert config[stage]["global"]["parameters"]["stack_name"].startswith(f"{prefix}-")
    bucket = RAW["Resources"]["DataBucket"]["Properties"]["BucketName"]["Fn::Sub"]
    assert bucket.startswith("${AWS::StackName}-data-")  # matches DataBuckets: <prefix>-*-data-<account>


# ---------------------------------------------------------------- who may call the API


def resolve(node: Any, conditions: dict[str, bool]) -> Any:
    """Evaluate Fn::If (dropping AWS::NoValue) as CloudFormation does for the given conditions."""
    if isinstance(node, dict):
        if "Fn::If" in node:
            name, yes, no = node["Fn::If"]
            return resolve(yes if conditions[name] else no, conditions)
        out = {}
        for key, value in node.items():
            value = resolve(value, conditions)
            if value != {"Ref": "AWS::NoValue"}:
                out[key] = value
        return out
    if isinstance(node, list):
        return [resolve(v, conditions) for v in node if resolve(v, conditions) != {"Ref": "AWS::NoValue"}]
    return node


def api_body(authorizer: str) -> dict:
    body = copy.deepcopy(transformed()["Resources"]["HttpApi"]["Properties"]["Body"])
    conditions = {"UseJwtAuthorizer": authorizer == "JWT", "UseIamAuthorizer": authorizer == "IAM"}
    return resolve(body, {**conditions, "HasAllowedOrigins": False})  # CORS is off by default


ROUTES = {
    (e["Properties"]["Method"].lower(), e["Properties"]["Path"])
    for e in RAW["Resources"]["ApiFunction"]["Properties"]["Events"].values()
    if e["Type"] == "HttpApi"
}


@pytest.mark.parametrize(
    "authorizer,security,scheme",
    [("NONE", None, None), ("IAM", [{"AWS_IAM": []}], "awsSigv4"), ("JWT", [{"Jwt": []}], "jwt")],
)
def test_every_route_is_behind_the_chosen_authorizer(authorizer, security, scheme):
    assert authorizer in RAW["Parameters"]["ApiAuthorizer"]["AllowedValues"]
    body = api_body(authorizer)
    operations = {(method, path): op for path, item in body["paths"].items() for method, op in item.items()}
    assert set(operations) == ROUTES  # a route added without an entry here would be left open
    for route, operation in operations.items():
        assert operation.get("security") == security, route
        assert "x-amazon-apigateway-integration" in operation, route
    schemes = body.get("components", {}).get("securitySchemes", {})
    if scheme is None:
        assert schemes == {}
    elif scheme == "awsSigv4":
        assert schemes == {"AWS_IAM": {**schemes["AWS_IAM"], "x-amazon-apigateway-authtype": "awsSigv4"}}
    else:
        jwt = schemes["Jwt"]["x-amazon-apigateway-authorizer"]
        assert set(schemes) == {"Jwt"} and jwt["type"] == "jwt"
        assert jwt["jwtConfiguration"] == {"issuer": {"Ref": "JwtIssuer"}, "audience": {"Ref": "JwtAudience"}}
        assert jwt["identitySource"] == "$request.header.Authorization"


def test_a_jwt_authorizer_cannot_be_deployed_without_issuer_and_audience():
    rule = RAW["Rules"]["JwtAuthorizerNeedsIssuerAndAudience"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "ApiAuthorizer"}, "JWT"]}
    asserted = json.dumps(rule["Assertions"])
    assert "JwtIssuer" in asserted and "JwtAudience" in asserted
    assert RAW["Parameters"]["ApiAuthorizer"]["Default"] == "NONE"
    assert re.search(r"\bIAM\b.*\bJWT\b", RAW["Parameters"]["ApiAuthorizer"]["Description"])
