"""template.yaml passes SAM's validators and wires the functions as the service expects."""

from __future__ import annotations

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
    assert functions
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
