"""Shadow scoring on the fast tier: the message contract, the API's sampled send (which never touches
the live answer) and the shadow function's comparison metrics, on moto with the fake model."""

from __future__ import annotations

import importlib
import json
import os
import sys
import uuid
from unittest import mock

import boto3
import pytest
from aws_lambda_powertools import Metrics

from local_run.pollers import sqs_event
from sentiment_core import settings, shadow
from sentiment_core.adapters.shadow_queue import MAX_MESSAGE_BYTES, ShadowSender
from sentiment_core.model import ModelLoadError
from sentiment_core.settings import Settings
from tests.fakes import FakeModel
from tests.helpers import api_request, context, emf_lines, receive

PRIVATE_TEXT = "a wonderful private film"  # must never reach a log line


def test_a_message_carries_texts_live_answers_and_version_and_reads_back():
    texts = ["great fun", "awful"]
    predictions = FakeModel().predict(texts)
    request = shadow.decode(shadow.encode(texts, predictions, "1.1.0"))
    assert request.texts == texts and request.live_version == "1.1.0"
    assert [a.label for a in request.live] == [p.label for p in predictions]
    assert [a.p_positive for a in request.live] == [p.probabilities["positive"] for p in predictions]


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        json.dumps({"format": 99}),
        json.dumps({"format": 1, "live_version": "1", "sent_at_ms": 0, "texts": [PRIVATE_TEXT], "live": []}),
        json.dumps({"format": 1, "live_version": "1", "sent_at_ms": 0, "texts": [PRIVATE_TEXT]}),
        json.dumps(
            {"format": 1, "live_version": "1", "sent_at_ms": 0, "texts": [PRIVATE_TEXT],
             "live": [{"label": "positive", "p_positive": "NaN"}]}
        ),
    ],
)  # fmt: skip
def test_a_malformed_message_is_refused_without_echoing_its_texts(body):
    with pytest.raises(shadow.BadMessage) as refused:
        shadow.decode(body)
    assert PRIVATE_TEXT not in str(refused.value)


def test_the_comparison_counts_agreement_flips_and_probability_change():
    texts = ["great", "awful", "loved it", "dull"]
    candidate = FakeModel().predict(texts)
    live = [
        shadow.LiveAnswer("positive", 0.9),  # candidate: positive
        shadow.LiveAnswer("positive", 0.6),  # candidate: negative -> a flip to negative
        shadow.LiveAnswer("negative", 0.3),  # candidate: positive -> a flip to positive
        shadow.LiveAnswer("negative", 0.1),  # candidate: negative
    ]
    assert [p.label for p in candidate] == ["positive", "negative", "positive", "negative"]
    comparison = shadow.Comparison()
    comparison.add(live, candidate, 12.5)
    assert comparison.texts == 4 and comparison.agreement_percent == 50.0
    assert (comparison.flips_to_positive, comparison.flips_to_negative) == (1, 1)
    change = sum(
        abs(p.probabilities["positive"] - a.p_positive) for p, a in zip(candidate, live, strict=True)
    )
    assert comparison.mean_change_points == pytest.approx(100 * change / 4)
    assert comparison.latency_ms == [12.5]


def sender(queue_url: str, rate: float, client=None, draw=lambda: 0.0) -> tuple[ShadowSender, Metrics]:
    metrics = Metrics(namespace="Test", service="api")
    config = Settings.from_env({"SHADOW_QUEUE_URL": queue_url, "SHADOW_SAMPLE_RATE": str(rate)})
    return ShadowSender(config, metrics, client=client, draw=draw), metrics


@pytest.fixture
def queue(aws) -> str:
    return boto3.client("sqs").create_queue(QueueName=f"shadow-{uuid.uuid4().hex[:12]}")["QueueUrl"]


def test_off_without_a_queue_or_at_rate_zero(queue):
    predictions = FakeModel().predict(["great"])
    for url, rate in (("", 1.0), (queue, 0.0)):
        send, _ = sender(url, rate, client=mock.Mock(side_effect=AssertionError("no client call")))
        assert not send.enabled and not send.offer(["great"], predictions, "1.1.0")
    assert receive(queue) == []


def test_a_sampled_request_is_one_message_with_its_live_answers(queue):
    send, metrics = sender(queue, 1.0)
    predictions = FakeModel().predict(["great", "awful"])
    assert send.offer(["great", "awful"], predictions, "1.1.0")
    (message,) = receive(queue)
    request = shadow.decode(message["Body"])
    assert request.texts == ["great", "awful"] and request.live_version == "1.1.0"
    assert metrics.metric_set["ShadowRequestsSent"]["Value"] == [1.0]


def test_only_the_sampled_share_is_sent(queue):
    draws = iter([0.05, 0.5, 0.09, 0.95])
    send, _ = sender(queue, 0.1, draw=lambda: next(draws))
    predictions = FakeModel().predict(["great"])
    assert [send.offer(["great"], predictions, "1") for _ in range(4)] == [True, False, True, False]


def test_a_failing_or_oversized_send_is_counted_and_never_raises(queue):
    broken = mock.Mock()
    broken.send_message.side_effect = RuntimeError("queue unreachable")
    send, metrics = sender(queue, 1.0, client=broken)
    predictions = FakeModel().predict(["great"])
    assert send.offer(["great"], predictions, "1") is False
    assert metrics.metric_set["ShadowSendErrors"]["Value"] == [1.0]
    send, metrics = sender(queue, 1.0)
    big = ["x" * (MAX_MESSAGE_BYTES // 2)] * 3
    assert send.offer(big, FakeModel().predict(big), "1") is False
    assert metrics.metric_set["ShadowSkippedTooLarge"]["Value"] == [1.0]
    assert receive(queue) == []


def test_the_api_answers_the_same_whether_the_shadow_send_works_or_fails(api, queue, monkeypatch):
    body = {"texts": ["Great fun.", "Awful and dull."]}
    monkeypatch.setattr(api, "shadow", sender("", 0.0)[0])
    baseline = api_request(api, "POST", "/predict", body)
    monkeypatch.setattr(api, "shadow", sender(queue, 1.0, client=boto3.client("sqs"))[0])
    assert api_request(api, "POST", "/predict", body) == baseline
    (message,) = receive(queue)
    request = shadow.decode(message["Body"])
    assert request.texts == body["texts"] and request.live_version == baseline[1]["model"]["version"]
    assert [a.label for a in request.live] == [p["label"] for p in baseline[1]["predictions"]]
    broken = mock.Mock()
    broken.send_message.side_effect = RuntimeError("queue unreachable")
    monkeypatch.setattr(api, "shadow", sender(queue, 1.0, client=broken)[0])
    assert api_request(api, "POST", "/predict", body) == baseline


@pytest.fixture
def shadow_app(aws):
    """functions.shadow.app imported afresh, its candidate the fake model (version 0.0.0-test)."""
    environment = {
        "SHADOW_MODEL_VERSION": FakeModel.version,
        "SHADOW_MODEL_DIR": str(settings.REPO_MODEL_DIR),
    }
    for module in ("functions.shadow.app", "functions.shadow.candidate"):  # bound to get_model at import
        sys.modules.pop(module, None)
    with mock.patch.dict(os.environ, environment), mock.patch("sentiment_core.model.get_model") as load:
        load.side_effect = lambda _: FakeModel()
        settings.current.cache_clear()
        yield importlib.import_module("functions.shadow.app")
    settings.current.cache_clear()
    sys.modules.pop("functions.shadow.app", None)


def record(body: str, message_id: str) -> dict:
    message = {"MessageId": message_id, "ReceiptHandle": "r", "Body": body, "MD5OfBody": "m"}
    message["Attributes"] = {"ApproximateReceiveCount": "1", "SentTimestamp": "0"}
    return message


def test_the_shadow_publishes_its_comparison_per_live_version(shadow_app, capsys):
    texts = ["great", "awful"]
    live = [shadow.LiveAnswer("positive", 0.9), shadow.LiveAnswer("positive", 0.7)]
    body = json.dumps(
        {"format": 1, "live_version": "1.1.0", "sent_at_ms": 0, "texts": texts,
         "live": [vars(a) for a in live]}
    )  # fmt: skip
    capsys.readouterr()
    event = sqs_event([record(body, "m1"), record(body, "m2")], "arn:aws:sqs:us-east-1:1:shadow", "us-east-1")
    assert shadow_app.lambda_handler(event, context("shadow")) == {"batchItemFailures": []}
    out = capsys.readouterr().out
    (blob,) = [b for b in emf_lines(out) if "ShadowAgreement" in b]
    (dimensions,) = blob["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
    assert sorted(dimensions) == ["live_version", "model_version", "service"]
    assert (blob["live_version"], blob["model_version"], blob["service"]) == ("1.1.0", "0.0.0-test", "shadow")
    assert blob["ShadowTexts"] == [4.0] and blob["ShadowAgreement"] == [50.0]
    assert (blob["ShadowFlipsToPositive"], blob["ShadowFlipsToNegative"]) == ([0.0], [2.0])
    assert len(blob["ShadowLatency"]) == 2  # one per sampled request
    assert "great" not in out and "awful" not in out  # no text in any line it writes


def test_a_message_it_cannot_score_fails_alone_and_is_counted(shadow_app, capsys):
    good = shadow.encode(["great"], FakeModel().predict(["great"]), "1.1.0")
    bad = json.dumps({"format": 1, "live_version": "1", "sent_at_ms": 0, "texts": [PRIVATE_TEXT], "live": []})
    capsys.readouterr()
    event = sqs_event([record(good, "ok"), record(bad, "bad")], "arn:aws:sqs:us-east-1:1:shadow", "us-east-1")
    assert shadow_app.lambda_handler(event, context("shadow")) == {
        "batchItemFailures": [{"itemIdentifier": "bad"}]
    }
    out = capsys.readouterr().out
    assert PRIVATE_TEXT not in out
    errors = [b for b in emf_lines(out) if "ShadowScoringErrors" in b]
    assert errors and errors[0]["ShadowScoringErrors"] == [1.0] and "live_version" not in errors[0]


@pytest.mark.parametrize(
    ("version", "directory", "problem"),
    [
        (
            "9.9.9",
            settings.REPO_MODEL_DIR,
            "holds version 0.0.0-test, the stack's ShadowModelVersion is 9.9.9",
        ),
        ("", settings.REPO_MODEL_DIR, "SHADOW_MODEL_VERSION is not set"),
        (FakeModel.version, "container/no-shadow-model", "no candidate model in"),
    ],
)
def test_the_shadow_refuses_a_missing_or_other_candidate(version, directory, problem):
    from functions.shadow import candidate

    config = Settings.from_env({"SHADOW_MODEL_VERSION": version, "SHADOW_MODEL_DIR": str(directory)})
    with (
        mock.patch.object(candidate, "get_model", lambda _: FakeModel()),
        pytest.raises(ModelLoadError, match=problem),
    ):
        candidate.load_candidate(config)
