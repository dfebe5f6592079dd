"""The release path's wiring: the image's model source, the deployed ImageUri, and `make deploy`."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest
from cfnlint.decode import cfn_yaml

from local_run.stack_template import deployed
from sentiment_core import settings
from sentiment_core.settings import Settings

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = cfn_yaml.load(str(REPO / "template.yaml"))
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/imdb-sentiment:0123456789abcdef0123456789abcdef01234567"


def make(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", *args], cwd=REPO, capture_output=True, text=True)


def final_stage_instructions() -> list[tuple[str, list[str]]]:
    """The Dockerfile's last stage as (instruction, arguments), continuation lines joined."""
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.split() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    last_from = max(i for i, words in enumerate(lines) if words[0] == "FROM")
    return [(words[0], words[1:]) for words in lines[last_from + 1 :]]


def test_the_image_takes_the_model_from_the_repo_unless_told_otherwise():
    stage = final_stage_instructions()
    args = dict(a.split("=", 1) for op, params in stage if op == "ARG" for a in params if "=" in a)
    env = dict(a.split("=", 1) for op, params in stage if op == "ENV" for a in params)
    copies = {params[-1]: params[:-1] for op, params in stage if op == "COPY"}
    # Declared in the stage that copies it, defaulting to the repo's artifact, landing where serving looks.
    assert REPO / args["MODEL_SOURCE"] == settings.REPO_MODEL_DIR
    assert copies[f"{settings.IMAGE_MODEL_DIR}/"] == ["${MODEL_SOURCE}/"]
    assert Path(env["MODEL_DIR"]) == settings.IMAGE_MODEL_DIR
    assert Settings.from_env(env).model_dir == settings.IMAGE_MODEL_DIR
    # The build context admits the fetched registry model next to the repo's.
    ignore = (REPO / ".dockerignore").read_text().splitlines()
    assert {"!layers/sentiment_model/model/", "!build/registry-model/"} <= set(ignore)
    # make fetch-model writes where the workflow's MODEL_SOURCE points.
    assert "--dest build/registry-model" in (REPO / "Makefile").read_text()


def test_image_functions_run_the_image_uri_parameter():
    resources = deployed()["Resources"]  # nested stacks included, as the root passes them ImageUri
    for name in ("ApiFunction", "WorkerFunction", "BatchFunction", "FanoutScoreFunction"):
        assert resources[name]["Properties"]["ImageUri"] == {"Ref": "ImageUri"}, name


@pytest.mark.parametrize(
    "uri,ok",
    [
        (IMAGE, True),
        (IMAGE + "@sha256:" + "a" * 64, True),
        ("", True),  # sam build replaces ImageUri in its built template
        ("imdb-sentiment:abc", False),
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/imdb-sentiment:a b", False),
        ("docker.io/library/python:3.12", False),
        ("localhost/imdb-sentiment:amd64", True),  # make local-image, for sam local only
        ("localhost/imdb-sentiment", False),
    ],
)
def test_image_uri_parameter_pattern(uri, ok):
    pattern = TEMPLATE["Parameters"]["ImageUri"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, uri)) is ok


def test_stages_resolve_no_image_repositories():
    # `make deploy` passes --image-repository, which SAM refuses together with resolve_image_repos.
    config = tomllib.loads((REPO / "samconfig.toml").read_text())
    for stage in ("dev", "prod"):
        assert "resolve_image_repos" not in config[stage]["deploy"]["parameters"], stage


@pytest.mark.parametrize(
    "stage,overrides",
    [
        ("dev", "LogLevel=DEBUG RoleBoundaryPolicy=imdb-sentiment-role-boundary"),
        ("prod", "LogLevel=INFO RoleBoundaryPolicy=imdb-sentiment-role-boundary"),
    ],
)
def test_make_deploy_deploys_the_template_with_the_image_and_the_stage_parameters(stage, overrides):
    result = make(
        "-n",
        "deploy",
        f"STAGE={stage}",
        f"IMAGE_URI={IMAGE}",
        "ARTIFACTS_BUCKET=artifacts",
        "CFN_EXECUTION_ROLE_ARN=arn:r",
    )
    assert result.returncode == 0, result.stderr
    command = " ".join(result.stdout.split("\\\n"))
    sam = re.search(r"\.tools/sam/bin/sam deploy .*", command).group(0)
    args = sam.split()
    assert args[args.index("--config-env") + 1] == stage
    assert args[args.index("--template-file") + 1] == "template.yaml"  # never a stale `sam build` output
    assert args[args.index("--image-repository") + 1] == IMAGE.split(":")[0]
    assert args[args.index("--s3-bucket") + 1] == "artifacts"
    assert args[args.index("--role-arn") + 1] == "arn:r"
    assert {"--no-confirm-changeset", "--no-fail-on-empty-changeset"} <= set(args)
    assert f"--parameter-overrides {overrides} ImageUri={IMAGE}" in sam


@pytest.mark.parametrize(
    "uri,message",
    [("", "IMAGE_URI is required"), (IMAGE.rsplit(":", 1)[0] + ":latest", "never :latest")],
)
def test_make_deploy_refuses_a_missing_or_latest_image(uri, message):
    result = make("deploy", f"IMAGE_URI={uri}", "ARTIFACTS_BUCKET=artifacts")
    assert result.returncode == 2 and message in result.stdout
    assert "sam deploy" not in result.stdout


@pytest.mark.skipif(not (REPO / ".tools/sam/bin/sam").exists(), reason="SAM CLI not installed (make venv)")
def test_make_deploy_needs_the_artifacts_bucket():
    result = make("deploy", f"IMAGE_URI={IMAGE}", "ARTIFACTS_BUCKET=")
    assert result.returncode == 2 and "ARTIFACTS_BUCKET is required" in result.stdout
    assert "sam deploy" not in result.stdout


def test_make_approve_model_needs_a_version():
    result = make("approve-model")
    assert result.returncode == 2 and "usage: make approve-model VERSION=" in result.stdout


def test_make_smoke_needs_the_api_url():
    result = make("smoke")
    assert result.returncode == 2 and "usage: make smoke API_URL=" in result.stdout


def test_make_model_info_names_the_artifact_in_the_image():
    result = make("model-info")
    assert result.returncode == 0, result.stderr
    lines = dict(line.split("=", 1) for line in result.stdout.splitlines())
    manifest = (REPO / "layers/sentiment_model/model/manifest.json").read_text()
    assert lines["model_sha256"] in manifest and lines["model_version"] in manifest
