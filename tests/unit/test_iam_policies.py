"""Least privilege, checked on the template and on what SAM turns it into (what CloudFormation deploys).

- A `*` in any policy's action, resource or principal must carry a `# why` comment on its line, except
  an object-key wildcard under a fixed prefix of the stack's own bucket (that is the scoping itself).
- No role carries an AWS managed policy or a SAM-generated statement, except CodeDeploy's own service role.
- Each function's grants are exactly the table below, and the S3 prefixes in it are the ones the code uses.
- Every API route is behind the authorizer ApiAuthorizer picks.
"""

from __future__ import annotations

import copy
import fnmatch
import functools
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import cfn_yaml

from sentiment_core.jobs import JobStore

REPO = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO / "template.yaml"
RAW = cfn_yaml.load(str(TEMPLATE_PATH))
LINES = TEMPLATE_PATH.read_text().splitlines()
DATA_BUCKET_ARN = "arn:${AWS::Partition}:s3:::${AWS::StackName}-data-${AWS::AccountId}"
POLICY_FIELDS = ("Action", "NotAction", "Resource", "NotResource", "Principal", "NotPrincipal")

# AWS managed policies a role may carry, each with the reason.
ALLOWED_MANAGED_POLICIES = {
    # CodeDeploy's service role, which SAM creates for DeploymentPreference: assumed by
    # codedeploy.amazonaws.com (not by our code) to move the `live` aliases and read the alarms.
    "arn:aws:iam::aws:policy/service-role/AWSCodeDeployRoleForLambda": "CodeDeployServiceRole",
}


class _NoManagedPolicies:
    def load(self) -> dict:
        return {}


@functools.cache
def transformed() -> dict:
    """template.yaml after the AWS::Serverless transform, as CloudFormation receives it."""
    from samtranslator.translator.transform import transform

    template = json.loads(json.dumps(RAW))
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


def statements(document: dict) -> list[dict]:
    found = document.get("Statement", [])
    return found if isinstance(found, list) else [found]


def policy_documents(node: Any) -> list[dict]:
    """Every IAM policy document in a resource tree (role policies, bucket and queue policies)."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("PolicyDocument", "AssumeRolePolicyDocument") and isinstance(value, dict):
                found.append(value)
            else:
                found += policy_documents(value)
    elif isinstance(node, list):
        for value in node:
            found += policy_documents(value)
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
    if not text.startswith(DATA_BUCKET_ARN + "/"):
        return False
    key = text[len(DATA_BUCKET_ARN) + 1 :]
    prefix = key.split("*", 1)[0]
    return "/" in prefix and not prefix.startswith("/")


def justified(line: int | None) -> bool:
    if line is None:
        return False
    comment = LINES[line].split(" #", 1)[1] if " #" in LINES[line] else ""
    return len(comment.strip()) >= 10


def wildcards(resources: dict) -> list[tuple[str, str, str, int | None]]:
    found = []
    for name, resource in resources.items():
        for document in policy_documents(resource.get("Properties", {})):
            for statement in statements(document):
                for field in POLICY_FIELDS:
                    for text, line in strings_with_lines(statement.get(field)):
                        if "*" in text:
                            found.append((name, field, text, line))
    return found


def test_the_check_finds_wildcards_and_tells_justified_from_not():
    found = wildcards(RAW["Resources"])
    assert any(text == "*" and field == "Resource" for _, field, text, _ in found)  # X-Ray, justified
    assert scoped_object_wildcard(DATA_BUCKET_ARN + "/jobs/*/request.json")
    assert not scoped_object_wildcard(DATA_BUCKET_ARN + "/*")
    assert not scoped_object_wildcard("arn:${AWS::Partition}:s3:::*/incoming/*")
    unjustified = [line for line, text in enumerate(LINES) if text.strip().startswith("Resources:")]
    assert not justified(unjustified[0])


def test_every_wildcard_in_a_policy_is_scoped_or_justified_in_a_comment():
    problems = [
        f"{name}.{field} {text!r} (line {line + 1 if line is not None else '?'})"
        for name, field, text, line in wildcards(RAW["Resources"])
        if not (field == "Resource" and scoped_object_wildcard(text)) and not justified(line)
    ]
    assert problems == [], "a '*' needs a '# why' comment on its line:\n" + "\n".join(problems)


def test_the_deployed_template_adds_no_managed_policy_or_generated_wildcard():
    deployed = transformed()["Resources"]
    roles = {k: v for k, v in deployed.items() if v["Type"].startswith("AWS::IAM::")}
    assert set(roles) == {*ALLOWED_MANAGED_POLICIES.values(), *(k for k in RAW["Resources"] if k in roles)}
    for name, role in roles.items():
        for arn in role["Properties"].get("ManagedPolicyArns", []):
            assert ALLOWED_MANAGED_POLICIES.get(arn) == name, f"{name} carries {arn}"
    generated = {k: v for k, v in roles.items() if k not in RAW["Resources"]}
    assert [w for w in wildcards(generated)] == []
    for name, resource in deployed.items():
        if resource["Type"] == "AWS::Lambda::Function":
            role = resource["Properties"]["Role"]
            assert role["Fn::GetAtt"][0] in RAW["Resources"], f"{name} runs with a role SAM generated"


def resource_name(node: Any) -> str:
    if isinstance(node, dict) and "Fn::GetAtt" in node:
        target = node["Fn::GetAtt"]
        return target[0] if isinstance(target, list) else str(target).split(".")[0]
    if isinstance(node, dict) and "Fn::Sub" in node:
        text = node["Fn::Sub"] if isinstance(node["Fn::Sub"], str) else node["Fn::Sub"][0]
        return text.replace(DATA_BUCKET_ARN + "/", "data:")
    return str(node)


def grants(role: str) -> set[tuple[str, str]]:
    found = set()
    for policy in RAW["Resources"][role]["Properties"]["Policies"]:
        for statement in statements(policy["PolicyDocument"]):
            assert statement["Effect"] == "Allow"
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            found |= {(a, resource_name(r)) for a in actions for r in resources}
    return found


def own_logs_and_traces(log_group: str) -> set[tuple[str, str]]:
    return {
        ("logs:CreateLogStream", log_group),
        ("logs:PutLogEvents", log_group),
        ("xray:PutTraceSegments", "*"),
        ("xray:PutTelemetryRecords", "*"),
    }


EXPECTED = {
    "ApiFunctionRole": own_logs_and_traces("ApiLogGroup")
    | {
        ("s3:PutObject", "data:jobs/*/request.json"),
        ("s3:GetObject", "data:jobs/*/result.json"),
        ("dynamodb:PutItem", "JobsTable"),
        ("dynamodb:GetItem", "JobsTable"),
        ("dynamodb:UpdateItem", "JobsTable"),
        ("sqs:SendMessage", "JobsQueue"),
    },
    "WorkerFunctionRole": own_logs_and_traces("WorkerLogGroup")
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
    "BatchFunctionRole": own_logs_and_traces("BatchLogGroup")
    | {
        ("s3:GetObject", "data:incoming/*"),
        ("s3:PutObject", "data:scored/*"),
        ("s3:DeleteObject", "data:scored/*"),
        ("s3:AbortMultipartUpload", "data:scored/*"),
        ("sqs:SendMessage", "BatchFailureQueue"),
    },
    "PreTrafficHookFunctionRole": own_logs_and_traces("PreTrafficHookLogGroup")
    | {
        ("lambda:InvokeFunction", "${ApiFunction.Arn}:*"),
        (
            "codedeploy:PutLifecycleEventHookExecutionStatus",
            "arn:${AWS::Partition}:codedeploy:${AWS::Region}:${AWS::AccountId}:deploymentgroup:"
            "${ServerlessDeploymentApplication}/*",
        ),
    },
    "FanoutSplitFunctionRole": own_logs_and_traces("FanoutSplitLogGroup")
    | {
        ("s3:GetObject", "data:incoming/*"),
        ("s3:GetObject", "data:fanout/*"),
        ("s3:PutObject", "data:fanout/*"),
        ("s3:AbortMultipartUpload", "data:fanout/*"),
        ("s3:PutObject", "data:scored/*"),
        ("s3:DeleteObject", "data:scored/*"),
        ("events:PutEvents", "FanoutEventBus"),
    },
    "FanoutScoreFunctionRole": own_logs_and_traces("FanoutScoreLogGroup")
    | {
        ("s3:GetObject", "data:incoming/*"),
        ("s3:GetObject", "data:fanout/*"),
        ("s3:PutObject", "data:fanout/*"),
        ("s3:PutObject", "data:scored/*.status.json"),
        ("s3:ListBucket", "arn:${AWS::Partition}:s3:::${AWS::StackName}-data-${AWS::AccountId}"),
    },
    "FanoutMergeFunctionRole": own_logs_and_traces("FanoutMergeLogGroup")
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
}
FUNCTIONS = {
    "ApiFunction": ("ApiFunctionRole", "ApiLogGroup"),
    "WorkerFunction": ("WorkerFunctionRole", "WorkerLogGroup"),
    "BatchFunction": ("BatchFunctionRole", "BatchLogGroup"),
    "PreTrafficHookFunction": ("PreTrafficHookFunctionRole", "PreTrafficHookLogGroup"),
    "FanoutSplitFunction": ("FanoutSplitFunctionRole", "FanoutSplitLogGroup"),
    "FanoutScoreFunction": ("FanoutScoreFunctionRole", "FanoutScoreLogGroup"),
    "FanoutMergeFunction": ("FanoutMergeFunctionRole", "FanoutMergeLogGroup"),
}


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_each_function_may_touch_exactly_its_own_resources(function):
    role, log_group = FUNCTIONS[function]
    props = RAW["Resources"][function]["Properties"]
    assert props["Role"] == {"Fn::GetAtt": [role, "Arn"]}
    assert "Policies" not in props  # a SAM policy would add grants outside this table
    assert props["LoggingConfig"]["LogGroup"] == {"Ref": log_group}
    assert grants(role) == EXPECTED[role]
    trust = statements(RAW["Resources"][role]["Properties"]["AssumeRolePolicyDocument"])
    assert [(s["Principal"], s["Action"]) for s in trust] == [
        ({"Service": "lambda.amazonaws.com"}, "sts:AssumeRole")
    ]


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
    return resolve(body, conditions)


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
