"""The GitHub Actions workflow, checked as far as it can be without GitHub or AWS."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOW_PATH = REPO / ".github" / "workflows" / "ci-cd.yml"
WORKFLOW = yaml.safe_load(WORKFLOW_PATH.read_text())
TRIGGERS = WORKFLOW.get("on", WORKFLOW.get(True))  # YAML 1.1 reads a bare `on` as true
JOBS = WORKFLOW["jobs"]
BIN = Path(sys.executable).parent


def steps(job: str) -> list[dict]:
    return JOBS[job]["steps"]


def uses(job: str, action: str) -> dict:
    (step,) = [s for s in steps(job) if s.get("uses", "").split("@")[0] == action]
    return step


def runs(job: str | None = None) -> list[str]:
    return [s["run"] for name in ([job] if job else JOBS) for s in steps(name) if "run" in s]


def makefile_targets() -> set[str]:
    targets = set()
    for line in (REPO / "Makefile").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_. -]+):(?!=)", line)
        if match:
            targets.update(match.group(1).split())
    return targets


def test_workflow_matches_the_github_workflow_schema():
    result = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(WORKFLOW_PATH)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW_PATH.read_text().replace("id-token: write", "id-token: writ", 1))
    result = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(broken)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1 and "writ" in result.stdout


@pytest.mark.skipif(
    shutil.which("actionlint") is None, reason="actionlint is not on PATH (the workflow installs it)"
)
def test_actionlint():
    result = subprocess.run(["actionlint", str(WORKFLOW_PATH)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_make_target_the_workflow_runs_exists():
    called = {m for run in runs() for m in re.findall(r"\bmake\s+(?:--?[\w-]+\s+)*([a-z][\w-]*)", run)}
    assert {
        "lint",
        "test",
        "fetch-model",
        "model-info",
        "deploy",
        "stack-output",
        "smoke",
        "sam-cli",
    } <= called
    assert called <= makefile_targets(), called - makefile_targets()


def test_pull_requests_lint_and_test_and_only_main_deploys():
    assert set(TRIGGERS) >= {"pull_request", "push"}
    assert TRIGGERS["push"]["branches"] == ["main"]
    assert "pull_request" in TRIGGERS and "if" not in JOBS["test"]
    assert runs("test")[-2:] == ["make lint", "make test"]
    assert JOBS["build"]["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    assert JOBS["build"]["needs"] == "test"
    assert JOBS["deploy-dev"]["needs"] == "build"
    assert JOBS["deploy-prod"]["needs"] == ["build", "deploy-dev"]


def test_prod_waits_for_the_protected_environment():
    assert JOBS["deploy-prod"]["environment"]["name"] == "production"
    assert JOBS["deploy-dev"]["environment"]["name"] == "dev"


def test_aws_access_is_oidc_only():
    assert WORKFLOW["permissions"] == {"contents": "read"}
    text = WORKFLOW_PATH.read_text()
    assert "aws-access-key-id" not in text and "secrets." not in text
    for name, job in JOBS.items():
        assumes = [
            s for s in job["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws-credentials")
        ]
        if name == "test":
            assert not assumes and "permissions" not in job  # pull requests get no AWS at all
            continue
        (step,) = assumes
        assert step["with"]["role-to-assume"] == "${{ vars.AWS_PIPELINE_ROLE_ARN }}"
        assert job["permissions"] == {"contents": "read", "id-token": "write"}


def test_the_image_is_arm64_pushed_with_the_commit_and_deployed_by_that_tag():
    uses("build", "docker/setup-qemu-action")
    uses("build", "docker/setup-buildx-action")
    uses("build", "aws-actions/amazon-ecr-login")
    build = uses("build", "docker/build-push-action")["with"]
    assert build["platforms"] == "linux/arm64" and build["push"] is True
    assert build["provenance"] is False  # Lambda rejects an image index
    assert build["tags"] == "${{ steps.image.outputs.uri }}"
    (image,) = [s for s in steps("build") if s.get("id") == "image"]
    assert image["run"].rstrip().endswith(':${{ github.sha }}" >> "$GITHUB_OUTPUT"')
    assert JOBS["build"]["outputs"]["image_uri"] == "${{ steps.image.outputs.uri }}"
    assert ":latest" not in WORKFLOW_PATH.read_text()
    for job, stage in (("deploy-dev", "dev"), ("deploy-prod", "prod")):
        (deploy,) = [r for r in runs(job) if r.startswith("make deploy")]
        assert deploy == f'make deploy STAGE={stage} IMAGE_URI="${{{{ needs.build.outputs.image_uri }}}}"'
        (smoke,) = [r for r in runs(job) if r.startswith("make smoke")]
        assert 'EXPECT_SHA256="${{ needs.build.outputs.model_sha256 }}"' in smoke


def test_the_model_can_come_from_the_registry():
    assert "build/registry-model" in JOBS["build"]["env"]["MODEL_SOURCE"]
    assert (
        uses("build", "docker/build-push-action")["with"]["build-args"]
        == "MODEL_SOURCE=${{ env.MODEL_SOURCE }}"
    )
    (fetch,) = [s for s in steps("build") if s.get("run", "").startswith("make fetch-model")]
    assert fetch["if"] == "vars.MODEL_SOURCE == 'registry'"


def test_every_variable_the_workflow_reads_is_documented():
    deploy_page = (REPO / "docs" / "deploy.md").read_text()
    variables = set(re.findall(r"vars\.([A-Z_]+)", WORKFLOW_PATH.read_text()))
    assert variables == {
        "AWS_REGION",
        "AWS_PIPELINE_ROLE_ARN",
        "CFN_EXECUTION_ROLE_ARN",
        "ECR_REPOSITORY",
        "ARTIFACTS_BUCKET",
        "MODEL_SOURCE",
    }
    assert [v for v in sorted(variables) if f"`{v}`" not in deploy_page] == []
