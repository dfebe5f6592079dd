"""`explain` on the API and jobs, with the fake model: the caps, the shape, and the flag's absence."""

from __future__ import annotations

import json

import pytest

from sentiment_core.explain import explain
from tests.fakes import FakeModel
from tests.helpers import api_request, context, drain, emf_lines, load_event, receive, run_worker
from tests.unit.test_metrics import metrics_of

REVIEW = "I saw it on a Tuesday. It was a wonderful, moving film. The seats were blue."
SENTENCE_KEYS = {"start", "end", "label", "score", "contribution", "read"}


@pytest.fixture(autouse=True)
def empty_queues(aws):
    drain(aws.jobs_queue_url)


def test_explained_prediction_has_sentences_that_slice_the_text(api):
    status, body = api_request(api, "POST", "/predict", {"text": REVIEW, "explain": True})
    assert status == 200
    (prediction,) = body["predictions"]
    assert prediction["label"] == "positive"
    sentences = prediction["sentences"]
    assert [REVIEW[s["start"] : s["end"]] for s in sentences] == [
        "I saw it on a Tuesday.",
        "It was a wonderful, moving film.",
        "The seats were blue.",
    ]
    assert all(set(s) == SENTENCE_KEYS and s["read"] for s in sentences)
    assert max(sentences, key=lambda s: s["contribution"])["start"] == REVIEW.index("It was")
    assert sentences[1]["label"] == "positive" and sentences[1]["score"] > 0.5


def test_the_same_review_scores_the_same_explained_or_not(api):
    _, plain = api_request(api, "POST", "/predict", {"text": REVIEW})
    _, explained = api_request(api, "POST", "/predict", {"text": REVIEW, "explain": True})
    assert "sentences" not in plain["predictions"][0]
    assert {k: v for k, v in explained["predictions"][0].items() if k != "sentences"} == plain["predictions"][
        0
    ]


def test_explain_takes_at_most_8_texts(api):
    status, body = api_request(api, "POST", "/predict", {"texts": [REVIEW] * 8, "explain": True})
    assert status == 200 and all(len(p["sentences"]) == 3 for p in body["predictions"])
    status, body = api_request(api, "POST", "/predict", {"texts": [REVIEW] * 9, "explain": True})
    assert status == 422 and "at most 8 texts" in body["details"][0]["problem"]
    assert api_request(api, "POST", "/predict", {"texts": [REVIEW] * 9, "explain": False})[0] == 200


def test_explain_must_be_a_boolean(api):
    status, body = api_request(api, "POST", "/predict", {"text": REVIEW, "explain": "yes"})
    assert status == 422 and body["details"][0]["field"].endswith("explain")


def test_one_predict_call_scores_a_whole_explanation(api, monkeypatch):
    calls = []
    monkeypatch.setattr(
        api.model, "predict", lambda texts: calls.append(len(texts)) or FakeModel().predict(texts)
    )
    api_request(api, "POST", "/predict", {"texts": [REVIEW, "Great fun!"], "explain": True})
    # REVIEW: itself, 3 sentences alone, 3 without one; the one-sentence review is its own sentence,
    # and the review without it is empty.
    assert calls == [1 + 3 + 3 + 1 + 1]


def test_a_sentence_the_model_does_not_read_has_no_contribution():
    review = "Great start. " + "Filler words here. " * 120 + "Dull end."
    (explanation,) = explain(FakeModel(), [review])
    unread = [s for s in explanation.sentences if not s.read]
    assert unread and all(s.contribution is None for s in unread)
    assert explanation.sentences[0].read and explanation.sentences[-1].read
    assert len(explanation.sentences) == 16


def test_openapi_documents_the_sentences_with_an_example(api):
    _, document = api_request(api, "GET", "/openapi.json")
    schemas = document["components"]["schemas"]
    assert "explain" in schemas["PredictRequest"]["properties"]
    sentences = schemas["PredictionOut"]["properties"]["sentences"]
    example = document["paths"]["/predict"]["post"]["responses"]["200"]["content"]["application/json"]
    (prediction,) = example["examples"]["explained"]["value"]["predictions"]
    assert set(prediction["sentences"][0]) == SENTENCE_KEYS and "SentenceOut" in json.dumps(sentences)


def test_an_explained_job_returns_sentences(api, worker, aws):
    status, body = api_request(api, "POST", "/jobs", {"texts": [REVIEW, "Dull."], "explain": True})
    assert status == 202
    run_worker(worker, aws.jobs_queue_url, receive(aws.jobs_queue_url))
    _, done = api_request(api, "GET", f"/jobs/{body['job_id']}")
    assert done["status"] == "done"
    assert [len(p["sentences"]) for p in done["predictions"]] == [3, 1]
    assert set(done["predictions"][0]["sentences"][0]) == SENTENCE_KEYS


def test_an_explained_job_takes_at_most_100_texts(api):
    status, body = api_request(api, "POST", "/jobs", {"texts": ["Fine."] * 101, "explain": True})
    assert status == 422 and "at most 100 texts" in body["details"][0]["problem"]


def test_the_explain_event_gets_sentences_the_container_checks_accept(api):
    """events/api_predict_explain.json, as `sam local invoke` and the image check send it."""
    from container.check_images import check_explained

    event = load_event("api_predict_explain.json")
    response = api.lambda_handler(event, context("api"))
    assert response["statusCode"] == 200
    check_explained(json.loads(event["body"]), json.loads(response["body"]))
    with pytest.raises(AssertionError):  # the check fails an answer whose offsets do not slice the text
        answer = json.loads(response["body"])
        answer["predictions"][0]["sentences"][0]["start"] -= 1
        check_explained(json.loads(event["body"]), answer)


def test_an_explained_request_counts_its_reviews_only_and_keeps_its_time_apart(api, capsys):
    capsys.readouterr()
    status, _ = api_request(api, "POST", "/predict", {"texts": [REVIEW, "Dull."], "explain": True})
    assert status == 200
    metrics = metrics_of(emf_lines(capsys.readouterr().out))
    # The spans and the left-out variants are not predictions anyone receives: two reviews, one each way.
    assert metrics["PredictionsPositive"][2] == [1.0] and metrics["PredictionsNegative"][2] == [1.0]
    assert metrics["ExplainedSentences"][2] == [4.0]
    assert metrics["ExplainLatency"][0] == "Milliseconds" and "InferenceLatency" not in metrics
