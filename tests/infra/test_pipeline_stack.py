"""pipeline/bootstrap.yaml: ECR (scan on push, lifecycle), the registry bucket, and OIDC-only access."""

from __future__ import annotations

import json
import re

from tests.infra.cfn import BOOTSTRAP as TEMPLATE

RESOURCES = TEMPLATE["Resources"]


def statements(role: str) -> list[dict]:
    (policy,) = RESOURCES[role]["Properties"]["Policies"]
    return policy["PolicyDocument"]["Statement"]


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def test_ecr_scans_on_push_keeps_the_last_n_images_and_tags_are_immutable():
    props = RESOURCES["ImageRepository"]["Properties"]
    assert props["ImageScanningConfiguration"] == {"ScanOnPush": True}
    assert props["ImageTagMutability"] == "IMMUTABLE"
    keep = TEMPLATE["Parameters"]["ImageRetentionCount"]["Default"]
    text = props["LifecyclePolicy"]["LifecyclePolicyText"]["Fn::Sub"].replace(
        "${ImageRetentionCount}", str(keep)
    )
    rules = sorted(json.loads(text)["rules"], key=lambda r: r["rulePriority"])
    # ECR requires the "any" rule to come last.
    assert [r["selection"]["tagStatus"] for r in rules] == ["untagged", "any"]
    assert rules[-1]["selection"] == {
        "tagStatus": "any",
        "countType": "imageCountMoreThan",
        "countNumber": keep,
    }
    assert all(r["action"] == {"type": "expire"} for r in rules)


def test_registry_bucket_is_versioned_private_and_tls_only():
    props = RESOURCES["ArtifactsBucket"]["Properties"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert all(props["PublicAccessBlockConfiguration"].values())
    assert RESOURCES["ArtifactsBucket"]["DeletionPolicy"] == "Retain"
    policy = RESOURCES["ArtifactsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    tls = next(s for s in policy if s["Sid"] == "DenyInsecureTransport")
    assert tls["Effect"] == "Deny" and tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_github_can_assume_the_pipeline_role_only_from_main_and_the_two_environments():
    (trust,) = RESOURCES["PipelineRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert "token.actions.githubusercontent.com" in trust["Principal"]["Federated"]["Fn::Sub"]
    condition = trust["Condition"]["StringEquals"]  # exact matches: no wildcard subject
    assert condition["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
    subjects = [s["Fn::Sub"] for s in condition["token.actions.githubusercontent.com:sub"]]
    assert subjects == [
        "repo:${GitHubRepository}:ref:refs/heads/main",
        "repo:${GitHubRepository}:environment:dev",
        "repo:${GitHubRepository}:environment:production",
    ]
    assert "StringLike" not in trust["Condition"]


def test_no_long_lived_keys():
    types = {r["Type"] for r in RESOURCES.values()}
    assert not types & {"AWS::IAM::User", "AWS::IAM::AccessKey"}


def test_the_pipeline_reads_the_registry_but_never_writes_it():
    for statement in statements("PipelineRole"):
        actions = as_list(statement["Action"])
        resources = json.dumps(statement["Resource"])
        if "/models/" in resources:
            assert actions == ["s3:GetObject"], statement
        assert not any(a.endswith("*") for a in actions), statement  # actions named one by one
    deny = next(
        s
        for s in RESOURCES["ArtifactsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
        if s["Sid"] == "PipelineNeverWritesTheRegistry"
    )
    assert deny["Effect"] == "Deny" and "s3:PutObject" in deny["Action"]
    assert deny["Resource"]["Fn::Sub"].endswith("/models/*")


def test_the_pipeline_deploys_only_the_two_application_stacks_and_passes_only_the_execution_role():
    by_sid = {s["Sid"]: s for s in statements("PipelineRole")}
    stacks = [r["Fn::Sub"] for r in by_sid["ApplicationStacks"]["Resource"]]
    assert [re.search(r"stack/(.*)/\*$", s).group(1) for s in stacks] == [
        "${ApplicationStackPrefix}-dev",
        "${ApplicationStackPrefix}-prod",
    ]
    pass_role = by_sid["HandOverToCloudFormation"]
    assert pass_role["Action"] == "iam:PassRole"
    assert pass_role["Resource"] == {"Fn::GetAtt": ["CloudFormationExecutionRole", "Arn"]}
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}}
    ecr = by_sid["EcrPushAndScan"]
    assert ecr["Resource"] == {"Fn::GetAtt": ["ImageRepository", "Arn"]}


def test_the_execution_role_manages_only_the_stacks_roles():
    by_sid = {s["Sid"]: s for s in statements("CloudFormationExecutionRole")}
    for sid in ("CreateBoundedRoles", "ManageStackRoles", "PassStackRoles"):
        assert as_list(by_sid[sid]["Resource"]) == [
            {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${ApplicationStackPrefix}-*"}
        ], sid
    assert not any(a.startswith("iam:") for a in as_list(by_sid["StackResources"]["Action"]))


def test_images_are_encrypted_under_the_key_parameter_or_the_aws_managed_key():
    encryption = RESOURCES["ImageRepository"]["Properties"]["EncryptionConfiguration"]
    assert encryption["EncryptionType"] == "KMS"
    assert encryption["KmsKey"] == {"Fn::If": ["HasKmsKey", {"Ref": "KmsKeyArn"}, {"Ref": "AWS::NoValue"}]}
    assert TEMPLATE["Parameters"]["KmsKeyArn"]["Default"] == ""


def test_outputs_name_what_the_workflow_and_the_makefile_need():
    assert {
        "ImageRepositoryUri",
        "ImageRepositoryName",
        "ArtifactsBucketName",
        "PipelineRoleArn",
        "CloudFormationExecutionRoleArn",
        "RoleBoundaryPolicyName",
    } <= set(TEMPLATE["Outputs"])
