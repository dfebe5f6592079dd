"""The sam local wrappers: the image and Architecture follow the host's CPU; the local template copy differs
from template.yaml only by the local endpoint's variables."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cfnlint.decode import cfn_yaml

from container import check_sam_local, sam_local

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "machine,image,architecture",
    [
        ("x86_64", "localhost/imdb-sentiment:amd64", "x86_64"),
        ("aarch64", "localhost/imdb-sentiment:arm64", "arm64"),
    ],
)
def test_the_image_and_architecture_follow_the_host(monkeypatch, machine, image, architecture):
    monkeypatch.setattr(sam_local.platform, "machine", lambda: machine)
    assert sam_local.local_image() == image
    assert sam_local.host_architecture()[1] == architecture
    allowed = cfn_yaml.load(str(REPO / "template.yaml"))["Parameters"]["Architecture"]["AllowedValues"]
    assert architecture in allowed


def test_an_unknown_cpu_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(sam_local.platform, "machine", lambda: "riscv64")
    with pytest.raises(SystemExit, match="riscv64"):
        sam_local.host_architecture()


def test_the_local_template_adds_only_the_endpoint_variables():
    copy = check_sam_local.template_with_endpoint("http://10.88.0.1:5000")
    try:
        local, original = cfn_yaml.load(str(copy)), cfn_yaml.load(str(REPO / "template.yaml"))
        nested = {}  # each nested template with functions: (its copy, which the root's copy names; it)
        for name, resource in local["Resources"].items():
            props = resource["Properties"]
            if resource["Type"] == "AWS::Serverless::Application" and "sam-local" in props["Location"]:
                written = original["Resources"][name]["Properties"]["Location"]
                nested[name] = (load(props["Location"]), load(written))
                props["Location"] = written
    finally:
        check_sam_local.remove_copies()
    assert set(nested) == {"JobWorker", "CsvFiles", "ShadowScoring"}
    for template, source in [(local, original), *nested.values()]:
        variables = template["Globals"]["Function"]["Environment"]["Variables"]
        assert variables.pop("AWS_ENDPOINT_URL") == "http://10.88.0.1:5000"
        assert variables.pop("POWERTOOLS_TRACE_DISABLED") == "true"
        assert template == source
    assert not list(REPO.rglob(f"{check_sam_local.COPY_PREFIX}*.yaml"))


def load(path: str) -> dict:
    return cfn_yaml.load(str(REPO / path))


def test_make_targets_wrap_the_module():
    def dry_run(*args: str) -> str:
        return subprocess.run(
            ["make", "-n", *args], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout

    assert "-m container.sam_local invoke Worker events/worker_job.json" in dry_run(
        "local-invoke", "FUNCTION=Worker", "EVENT=events/worker_job.json"
    )
    assert "-m container.sam_local invoke Api events/api_predict_one.json" in dry_run("local-invoke")
    assert "-m container.sam_local start-api --port" in dry_run("local-api")
    assert "container/build-images.sh" in dry_run("local-image")
