"""Shadow scoring in the local run (`SHADOW_MODEL_DIR=<candidate> make run`): the candidate is published
to the run's registry, fetched back verified and scores every /predict at rate 1.0, its metrics in the
run's output; a failing shadow leaves the live answers as they are, and its messages end in the dead
letters after two receives."""

from __future__ import annotations

import json
import shutil
import time

import boto3
import pytest
import requests

from local_run.resources import local_name
from sentiment_core import settings
from tests.helpers import emf_lines, serving_local_run

CANDIDATE = "1.1.0-shadow-test"
BODY = {"texts": ["A wonderful, moving film.", "Dull and far too long.", "Not bad at all."]}


@pytest.fixture(scope="module")
def candidate(tmp_path_factory):
    """The served artifact under another version: the manifest's checksums cover the files, not itself."""
    path = tmp_path_factory.mktemp("shadow") / "candidate"
    shutil.copytree(settings.current().model_dir, path, ignore=shutil.ignore_patterns("registry.json"))
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["version"] = CANDIDATE
    (path / "manifest.json").write_text(json.dumps(manifest))
    return path


def wait_for(found, seconds: float = 60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := found():
            return result
        time.sleep(0.5)
    raise AssertionError(f"not within {seconds} s")


@pytest.fixture(scope="module")
def live_answer(candidate):
    with serving_local_run(SHADOW_MODEL_DIR=str(candidate), SHADOW_SAMPLE_RATE="1.0") as run:
        response = requests.post(f"{run.url}/predict", json=BODY, timeout=30)
        assert response.status_code == 200

        def shadow_metrics():
            lines = [line for line in run.output if '"ShadowAgreement"' in line]
            return emf_lines("".join(lines))

        (blob, *_) = wait_for(shadow_metrics)
        yield response.json(), blob, "".join(run.output)


def test_a_sampled_predict_is_answered_by_the_live_version_and_scored_by_the_shadow(live_answer):
    answer, blob, output = live_answer
    live_version = answer["model"]["version"]
    assert live_version != CANDIDATE and len(answer["predictions"]) == len(BODY["texts"])
    assert f"shadow       {CANDIDATE}" in output  # the banner names the candidate
    assert (blob["service"], blob["model_version"], blob["live_version"]) == (
        "shadow",
        CANDIDATE,
        live_version,
    )
    assert blob["ShadowTexts"] == [3.0]
    assert blob["ShadowAgreement"] == [100.0] and blob["ShadowProbabilityChange"] == [0.0]  # the same model
    assert blob["ShadowFlipsToPositive"] == blob["ShadowFlipsToNegative"] == [0.0]
    assert all(text not in output for text in BODY["texts"])


def test_a_failing_shadow_leaves_live_answers_alone_and_dead_letters_after_two_receives(
    candidate, live_answer
):
    # The image carries another candidate than the stack names: the shadow function cannot start.
    environment = {
        "SHADOW_MODEL_DIR": str(candidate),
        "SHADOW_MODEL_VERSION": "9.9.9",
        "SHADOW_SAMPLE_RATE": "1.0",
    }
    with serving_local_run(**environment) as run:
        for _ in range(2):
            response = requests.post(f"{run.url}/predict", json=BODY, timeout=30)
            assert response.status_code == 200 and response.json() == live_answer[0]
        sqs = boto3.client(
            "sqs", endpoint_url=run.aws_endpoint, region_name="us-east-1",
            aws_access_key_id="local", aws_secret_access_key="local",
        )  # fmt: skip
        dead = sqs.get_queue_url(QueueName=local_name("ShadowDeadLetterQueue"))["QueueUrl"]

        shadow_queue = sqs.get_queue_url(QueueName=local_name("ShadowQueue"))["QueueUrl"]
        redrive = sqs.get_queue_attributes(QueueUrl=shadow_queue, AttributeNames=["RedrivePolicy"])
        assert json.loads(redrive["Attributes"]["RedrivePolicy"])["maxReceiveCount"] == 2
        letters: dict[str, dict] = {}

        def both_dead_and_none_left() -> bool:
            for m in sqs.receive_message(QueueUrl=dead, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
                "Messages", []
            ):
                letters[m["MessageId"]] = json.loads(m["Body"])
            counts = sqs.get_queue_attributes(QueueUrl=shadow_queue, AttributeNames=["All"])["Attributes"]
            left = int(counts["ApproximateNumberOfMessages"]) + int(
                counts["ApproximateNumberOfMessagesNotVisible"]
            )
            return len(letters) == 2 and left == 0

        wait_for(both_dead_and_none_left, 90)  # two receives (5 s apart here), then the dead letters
        assert {m["live_version"] for m in letters.values()} == {live_answer[0]["model"]["version"]}
        assert "ShadowModelVersion is 9.9.9" in "".join(run.output)
        assert requests.get(f"{run.url}/health", timeout=10).status_code == 200
